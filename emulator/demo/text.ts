/** Small helpers for the demo's printed text: counts that read as English, long sentences that wrap. */

/** "1 history", "2 histories": `pluralNoun` when adding an "s" is wrong. */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}

/**
 * Words of `text` in lines of at most `width` characters, `indent` included
 * on the lines after the first (a longer word, such as a resource ID, gets a
 * line of its own, never cut).
 */
export function wrapText(text: string, width: number, indent = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const limit = lines.length === 0 ? width : width - indent.length;
    if (line && line.length + word.length + 1 > limit) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((item, index) => (index === 0 ? item : `${indent}${item}`)).join('\n');
}
