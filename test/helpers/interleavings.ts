import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * Runs concurrent actors so that their DynamoDB calls land in a chosen order, one at a time: each
 * call waits at a gate until the order lets its actor go, and the next actor is picked only once
 * the released one has reached its next call or finished (whatever it does in between, a Slack
 * post or an SNS publish, belongs to that step). `order[k]` picks among the actors waiting at
 * step k (modulo their number), so any array of naturals is a valid interleaving: fast-check
 * generates and shrinks them.
 */
export const interleave = async <T>(
  db: DynamoDBDocumentClient,
  order: readonly number[],
  actors: ReadonlyArray<(db: DynamoDBDocumentClient) => Promise<T>>,
): Promise<{ results: PromiseSettledResult<T>[]; steps: string[] }> => {
  const gates: Array<(() => void) | undefined> = actors.map(() => undefined);
  const done = actors.map(() => false);
  const steps: string[] = [];
  let notify = () => {};
  const nextChange = () =>
    new Promise<void>((resolve) => {
      notify = resolve;
    });
  let change = nextChange();
  const gated = (actor: number) =>
    new Proxy(db, {
      get: (target, property, receiver) =>
        property === "send"
          ? async (command: { constructor: { name: string } }) => {
              await new Promise<void>((resolve) => {
                gates[actor] = () => {
                  steps.push(`${actor}:${command.constructor.name.replace(/Command$/, "")}`);
                  resolve();
                };
                notify();
              });
              return target.send(command as never);
            }
          : Reflect.get(target, property, receiver),
    }) as DynamoDBDocumentClient;
  const running = actors.map((run, actor) =>
    run(gated(actor)).finally(() => {
      done[actor] = true;
      notify();
    }),
  );
  const settled = Promise.allSettled(running);
  const ready = (actor: number) => done[actor] || gates[actor] !== undefined;
  for (let step = 0; ; step += 1) {
    while (!actors.every((_, actor) => ready(actor))) {
      await change;
      change = nextChange();
    }
    const waiting = actors.flatMap((_, actor) => (gates[actor] ? [actor] : []));
    if (waiting.length === 0) break;
    const picked = waiting[(order[step] ?? 0) % waiting.length] as number;
    const open = gates[picked] as () => void;
    gates[picked] = undefined;
    open();
  }
  return { results: await settled, steps };
};
