/**
 * Generated blocks in Markdown: the lines between `<!-- generated:<name> -->` and
 * `<!-- /generated:<name> -->` belong to `npm run docs`, which fills them from the code. Markers
 * shown inside a fenced code block are text, not blocks.
 */

export class BlockError extends Error {
  override readonly name = "BlockError";
}

export interface Block {
  readonly name: string;
  /** 0-based line indexes of the opening and closing markers. */
  readonly open: number;
  readonly close: number;
  /** The lines between the markers, joined with "\n" ("" when there are none). */
  readonly content: string;
}

const OPEN = /^\s*<!--\s*generated:([\w-]+)\s*-->\s*$/;
const CLOSE = /^\s*<!--\s*\/generated:([\w-]+)\s*-->\s*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Tells, for each line, whether it is inside a fenced code block (the fence lines included). */
export const fencedLines = (lines: readonly string[]): boolean[] => {
  let fence: string | undefined;
  return lines.map((line) => {
    const marker = FENCE.exec(line)?.[1];
    if (fence === undefined) {
      if (marker) fence = marker;
      return marker !== undefined;
    }
    if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
      fence = undefined;
    return true;
  });
};

export const findBlocks = (text: string, file: string): Block[] => {
  const lines = text.split("\n");
  const fenced = fencedLines(lines);
  const blocks: Block[] = [];
  let open: { name: string; line: number } | undefined;
  lines.forEach((line, index) => {
    const at = `${file}:${index + 1}`;
    // Inside an open block, fences belong to the generated content: only markers count there.
    if (fenced[index] && open === undefined) return;
    const opening = OPEN.exec(line)?.[1];
    if (opening) {
      if (open) throw new BlockError(`${at}: block "${opening}" opens inside block "${open.name}"`);
      open = { name: opening, line: index };
      return;
    }
    const closing = CLOSE.exec(line)?.[1];
    if (!closing) return;
    if (!open) throw new BlockError(`${at}: closing marker of "${closing}" with no block open`);
    if (closing !== open.name)
      throw new BlockError(
        `${at}: closing marker "${closing}" does not close block "${open.name}"`,
      );
    blocks.push({
      name: open.name,
      open: open.line,
      close: index,
      content: lines.slice(open.line + 1, index).join("\n"),
    });
    open = undefined;
  });
  if (open) throw new BlockError(`${file}:${open.line + 1}: block "${open.name}" is not closed`);
  return blocks;
};

/**
 * Fills every block of `text` from `generated` (by name). Returns the new text and the names of
 * the blocks whose content changed, in order. A block `generated` does not name is an error: a
 * misspelt marker must not quietly stop being generated.
 */
export const replaceBlocks = (
  text: string,
  generated: Readonly<Record<string, string>>,
  file: string,
): { text: string; changed: string[] } => {
  const blocks = findBlocks(text, file);
  const lines = text.split("\n");
  const changed: string[] = [];
  // From the last block up, so earlier line indexes stay valid.
  for (const block of [...blocks].reverse()) {
    const content = generated[block.name];
    if (content === undefined) {
      const known = Object.keys(generated).sort().join(", ");
      throw new BlockError(
        `${file}:${block.open + 1}: unknown generated block "${block.name}" (known: ${known})`,
      );
    }
    const wanted = content.replace(/\n+$/, "");
    if (wanted === block.content) continue;
    changed.unshift(block.name);
    lines.splice(
      block.open + 1,
      block.close - block.open - 1,
      ...(wanted ? wanted.split("\n") : []),
    );
  }
  return { text: lines.join("\n"), changed };
};
