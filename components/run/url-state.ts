/**
 * The run page's view position in the URL query (`?t=<timestep>&it=<iteration>`), so a reload — or a shared link —
 * comes back to the same timestep and scrubber position. Pure parse/format; the page applies them.
 */

export interface ViewPosition {
  timestep: number;
  /** Scrubbed-to iteration, or null for live. */
  scrubIteration: number | null;
}

function nonNegativeInt(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

export function parseViewPosition(search: string): ViewPosition {
  const q = new URLSearchParams(search);
  return { timestep: nonNegativeInt(q.get('t')) ?? 0, scrubIteration: nonNegativeInt(q.get('it')) };
}

/** The query string for a position, keeping unrelated parameters (e.g. the access token). */
export function formatViewPosition(search: string, position: ViewPosition): string {
  const q = new URLSearchParams(search);
  if (position.timestep > 0) q.set('t', String(position.timestep));
  else q.delete('t');
  if (position.scrubIteration !== null) q.set('it', String(position.scrubIteration));
  else q.delete('it');
  const text = q.toString();
  return text ? `?${text}` : '';
}
