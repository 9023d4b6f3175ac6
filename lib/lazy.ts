/**
 * A value built on first use and kept: handlers load their config and build their clients once
 * per container, on the first invocation (so a bad config fails an invocation, where it is
 * logged with context, rather than the import), and tests pass fakes instead.
 */
export const lazy = <T>(create: () => T): (() => T) => {
  let value: T | undefined;
  let created = false;
  return () => {
    if (!created) {
      value = create();
      created = true;
    }
    return value as T;
  };
};
