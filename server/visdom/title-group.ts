/**
 * Title grouping: Visdom opens a new window for every call without `win`, so a script that puts the iteration and
 * the loss into the title (pytorch-dnc sends `"Memory, t: 100, loss: 0.5312"` each time) ends up with hundreds of
 * windows. Engram treats titles that differ only in their numbers as one panel with a history: the numbers become
 * that call's iteration and named fields.
 */

/** What a title says once its numbers are taken out. */
export interface TitleGroup {
  /** The title with every number replaced by `#`: equal keys mean one panel. */
  key: string;
  /** The words before the first number, without trailing punctuation (`"Memory"`); the title itself if none. */
  label: string;
  /** The numbers in order of appearance (NaN and ±Infinity kept). */
  numbers: number[];
  /** Numbers with a label in front (`"loss: 0.5"` → `loss`), first occurrence wins. */
  fields: Record<string, number>;
  /** The field chosen as iteration: the first labelled non-negative integer, else the first such number. */
  iteration: number | null;
  /** Label of the iteration field (`t`), or null when the iteration came unlabelled or not at all. */
  iterationField: string | null;
}

// A number, or Python's spellings of the non-finite floats (`nan`, `inf`, `-inf`) that f-strings print, not glued
// to letters on either side (so `conv2d` or `layer3b` stay words).
const NUMBER =
  /(?<![A-Za-z0-9_.])([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?))(?![A-Za-z0-9_])/gi;
// The label in front of a number: the last word (letters, digits, _ . -) before a `:` or `=`.
const LABEL = /([A-Za-z_][\w.-]*)\s*[:=]\s*$/;

function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Split a title into its constant text and its numbers. */
export function groupTitle(title: string): TitleGroup {
  const numbers: number[] = [];
  const fields: Record<string, number> = {};
  let iteration: number | null = null;
  let iterationField: string | null = null;
  let firstInteger: number | null = null;
  let key = '';
  let last = 0;
  let labelEnd: number | null = null;
  for (const match of title.matchAll(NUMBER)) {
    const at = match.index ?? 0;
    const before = title.slice(last, at);
    key += `${before}#`;
    if (labelEnd === null) labelEnd = at;
    const value = parseNumber(match[1]);
    numbers.push(value);
    const label = LABEL.exec(before)?.[1]?.trim() ?? null;
    if (label !== null && !(label in fields)) fields[label] = value;
    const isCount = Number.isInteger(value) && value >= 0 && /^\+?\d+$/.test(match[1]);
    if (isCount) {
      if (label !== null && iterationField === null) {
        iteration = value;
        iterationField = label;
      }
      if (firstInteger === null) firstInteger = value;
    }
    last = at + match[0].length;
  }
  key += title.slice(last);
  if (iteration === null) iteration = firstInteger;
  const head = labelEnd === null ? title : title.slice(0, labelEnd);
  // "Memory, t: " → "Memory": drop the first number's label, then trailing separators.
  const withoutLabel = iterationField === null && Object.keys(fields).length === 0 ? head : head.replace(LABEL, '');
  const label = withoutLabel.replace(/[\s,;:=|/(-]+$/, '').trim() || title.trim();
  return { key, label, numbers, fields, iteration, iterationField };
}

/** A stable identifier for a label: `"Link Matrix"` → `linkMatrix` (letters and digits only, camelCase). */
export function identifierOf(label: string): string {
  const words = label.match(/[A-Za-z0-9]+/g) ?? [];
  if (words.length === 0) return 'window';
  const id = words
    .map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() : w.charAt(0).toUpperCase()) + w.slice(1))
    .join('');
  return /^[0-9]/.test(id) ? `w${id}` : id;
}
