/**
 * Reading what the Visdom client sends: every field is checked here and a bad one throws `VisdomRequestError`
 * naming the field and what it got, before anything changes.
 */
import { describe } from '../validate';
import { DenseArray } from './dense-json';

export class VisdomRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'VisdomRequestError';
  }
}

export type Body = Record<string, unknown>;

/** Largest heatmap, in cells (2048 × 2048): bigger ones are refused rather than stored. */
export const MAX_HEATMAP_CELLS = 2048 * 2048;
/** Longest env or window id. */
const MAX_ID_LENGTH = 256;

export function asBody(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof DenseArray)
    throw new VisdomRequestError(`the body must be a JSON object, got ${describe(value)}`);
  return value as Body;
}

/** The env id: `main` when missing or null; `/` becomes `_` as in Visdom. */
export function eidOf(body: Body, field = 'eid'): string {
  const value = body[field];
  if (value === undefined || value === null) return 'main';
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH)
    throw new VisdomRequestError(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  return value.replace(/\//g, '_');
}

/** The window id, or null when missing/null. */
export function winOf(body: Body): string | null {
  const value = body.win;
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_ID_LENGTH)
    throw new VisdomRequestError(`win must be a string of at most ${MAX_ID_LENGTH} characters, got ${describe(value)}`);
  return value;
}

export function objectField(body: Body, field: string): Body {
  const value = body[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof DenseArray)
    throw new VisdomRequestError(`${field} must be an object, got ${describe(value)}`);
  return value as Body;
}

/** `data`: a list of trace objects (absent → null). */
export function tracesOf(body: Body): Body[] | null {
  const value = body.data;
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new VisdomRequestError(`data must be a list of traces, got ${describe(value)}`);
  return value.map((trace, i) => {
    if (typeof trace !== 'object' || trace === null || Array.isArray(trace) || trace instanceof DenseArray)
      throw new VisdomRequestError(`data[${i}] must be an object, got ${describe(trace)}`);
    return trace as Body;
  });
}

export function optionalString(body: Body, field: string, where: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string')
    throw new VisdomRequestError(`${where}${field} must be a string, got ${describe(value)}`);
  return value;
}

/** A 2-D heatmap `z`: a DenseArray (big ones) or a nested list (small ones). Returns [rows, cols] and float32s. */
export function heatmapValues(value: unknown, where: string): { rows: number; cols: number; data: Float32Array } {
  if (value instanceof DenseArray) {
    if (value.shape.length !== 2 || value.shape[0] === 0 || value.shape[1] === 0)
      throw new VisdomRequestError(`${where}.z must be a non-empty 2-D list of numbers, got shape [${value.shape}]`);
    if (value.data.length > MAX_HEATMAP_CELLS)
      throw new VisdomRequestError(`${where}.z has ${value.data.length} cells, more than ${MAX_HEATMAP_CELLS}`, 413);
    return { rows: value.shape[0], cols: value.shape[1], data: new Float32Array(value.data) };
  }
  if (!Array.isArray(value) || value.length === 0 || !Array.isArray(value[0]) || value[0].length === 0)
    throw new VisdomRequestError(`${where}.z must be a non-empty 2-D list of numbers, got ${describe(value)}`);
  const rows = value.length;
  const cols = (value[0] as unknown[]).length;
  if (rows * cols > MAX_HEATMAP_CELLS)
    throw new VisdomRequestError(`${where}.z has ${rows * cols} cells, more than ${MAX_HEATMAP_CELLS}`, 413);
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = value[r];
    if (!Array.isArray(row) || row.length !== cols)
      throw new VisdomRequestError(`${where}.z row ${r} must be a list of ${cols} numbers, got ${describe(row)}`);
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (v === null) data[r * cols + c] = Number.NaN;
      else if (typeof v === 'number') data[r * cols + c] = v;
      else throw new VisdomRequestError(`${where}.z[${r}][${c}] must be a number or null, got ${describe(v)}`);
    }
  }
  return { rows, cols, data };
}

/** A list of numbers (x or y of a trace); null entries become NaN. */
export function numberList(value: unknown, where: string): number[] {
  if (value instanceof DenseArray) {
    if (value.shape.length !== 1) throw new VisdomRequestError(`${where} must be a flat list of numbers`);
    return Array.from(value.data);
  }
  if (!Array.isArray(value)) throw new VisdomRequestError(`${where} must be a list of numbers, got ${describe(value)}`);
  return value.map((v, i) => {
    if (v === null) return Number.NaN;
    if (typeof v !== 'number')
      throw new VisdomRequestError(`${where}[${i}] must be a number or null, got ${describe(v)}`);
    return v;
  });
}

/** Replace every DenseArray inside a plotly object by its plain-list form (for figures drawn as sent). */
export function plainJson(value: unknown): unknown {
  if (value instanceof DenseArray) return value.toJSON();
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === 'object' && value !== null) {
    const out: Body = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainJson(v);
    return out;
  }
  return value;
}
