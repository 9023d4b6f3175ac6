/**
 * A validation issue's path as a reader writes it: `pipelines[1].schedule.timezone`,
 * `Records[0].Sns.Message`. Shared by config errors and event errors so both read the same.
 */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === "number") return `${text}[${key}]`;
    const name = String(key);
    const plain = /^[A-Za-z_$][\w$-]*$/.test(name) ? name : JSON.stringify(name);
    return text === "" ? plain : plain.startsWith('"') ? `${text}[${plain}]` : `${text}.${plain}`;
  }, "");
