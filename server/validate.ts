/**
 * Payload validation for socket events and HTTP bodies. Every check names the field and the value it got, and
 * throws `ApiError('bad_request', …)`.
 */
import { ApiError } from './errors';

export type Fields = Record<string, unknown>;

/** `value` as a plain object; `undefined` counts as `{}` only when `optional`. */
export function asObject(value: unknown, what = 'payload', optional = false): Fields {
  if (value === undefined && optional) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('bad_request', `${what} must be an object, got ${describe(value)}`);
  }
  return value as Fields;
}

/** Refuse fields of `payload` outside `known`, naming the first unknown one. */
export function onlyFields(payload: Fields, known: readonly string[], what = 'body'): Fields {
  for (const name of Object.keys(payload)) {
    if (!known.includes(name)) {
      const list = known.length === 0 ? 'none' : known.join(', ');
      throw new ApiError('bad_request', `${what}: unknown field ${describe(shortText(name))} (known: ${list})`);
    }
  }
  return payload;
}

export function runIdOf(payload: Fields): string {
  const runId = payload.runId;
  if (typeof runId !== 'string' || runId.length === 0 || runId.length > 100) {
    throw new ApiError('bad_request', `runId must be a non-empty string, got ${describe(runId)}`);
  }
  return runId;
}

/** An integer field in [min, max]; `undefined` when absent and optional. */
export function integerField(payload: Fields, name: string, min: number, max: number, required: true): number;
export function integerField(
  payload: Fields,
  name: string,
  min: number,
  max: number,
  required: false,
): number | undefined;
export function integerField(
  payload: Fields,
  name: string,
  min: number,
  max: number,
  required: boolean,
): number | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ApiError('bad_request', `${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function positiveNumberField(payload: Fields, name: string): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ApiError('bad_request', `${name} must be a positive finite number, got ${describe(value)}`);
  }
  return value;
}

export function optionalString(payload: Fields, name: string, maxLength: number): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new ApiError(
      'bad_request',
      `${name} must be a string of at most ${maxLength} characters, got ${describe(value)}`,
    );
  }
  return value;
}

/** A name (a field, a header) cut short for an error message, so a huge bad input never comes back whole. */
export function shortText(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
