/** Edit distance between two short names (Levenshtein, case-insensitive). */
const distance = (a: string, b: string): number => {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
};

/** The known name closest to `name`, when it is close enough to be a typo of it. */
export const closest = (name: string, known: Iterable<string>): string | undefined => {
  if (name.length < 3) return undefined;
  let best: { candidate: string; cost: number } | undefined;
  for (const candidate of known) {
    const cost = distance(name, candidate);
    if (!best || cost < best.cost) best = { candidate, cost };
  }
  if (!best) return undefined;
  const prefix = [...known].find(
    (candidate) =>
      Math.min(candidate.length, name.length) >= 4 &&
      (candidate.toLowerCase().startsWith(name.toLowerCase()) ||
        name.toLowerCase().startsWith(candidate.toLowerCase())),
  );
  if (best.cost > 2 && prefix) return prefix;
  const tolerance = Math.max(2, Math.floor(Math.max(name.length, best.candidate.length) / 3));
  return best.cost <= tolerance ? best.candidate : undefined;
};

/** `; did you mean "x"?` when a known name is close, else an empty string. */
export const didYouMean = (name: string, known: Iterable<string>): string => {
  const suggestion = closest(name, known);
  return suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
};
