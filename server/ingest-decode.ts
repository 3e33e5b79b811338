/**
 * Validation of what external clients send besides frames (those are in ingest-frames.ts): the create payload and
 * metric points. Each refusal is an ApiError naming the metric and the field, and nothing here throws anything else.
 */
import { ApiError } from './errors';
import type { ExternalRunInput } from './run-manager';
import { EXTERNAL_CONTROLS, type ExternalControl, type MetricPoint } from './protocol';
import { asObject, describe, optionalString, type Fields } from './validate';

const MAX_POINTS_PER_BATCH = 10_000;
const MAX_SCALARS_PER_POINT = 64;
export const MAX_NAME_LENGTH = 100;
/** Fields of a metric point that are not named scalars. */
const POINT_FIELDS = new Set(['iteration', 'loss', 't']);

// ---------------------------------------------------------------------------------------------- create

export function isExternalCreate(payload: Fields): boolean {
  return payload.external !== undefined;
}

export function parseExternalCreate(payload: Fields): ExternalRunInput {
  if (payload.external !== true)
    throw new ApiError('bad_request', `external must be true, got ${describe(payload.external)}`);
  const config = asObject(payload.config, 'config', true);
  const controls = payload.controls === undefined ? [...EXTERNAL_CONTROLS] : parseControls(payload.controls);
  return { name: optionalString(payload, 'name', 200), config, controls };
}

export function parseControls(value: unknown): ExternalControl[] {
  if (!Array.isArray(value) || value.some((c) => !(EXTERNAL_CONTROLS as readonly unknown[]).includes(c)))
    throw new ApiError(
      'bad_request',
      `controls must be a list of ${EXTERNAL_CONTROLS.join(', ')}, got ${describe(value)}`,
      { field: 'controls' },
    );
  return [...new Set(value as ExternalControl[])];
}

// ---------------------------------------------------------------------------------------------- metrics

/**
 * Metric points of one batch: `{iteration, loss?, t?, <name>: number…}`, iterations ascending. JSON has no NaN or
 * ±Inf, so a value may also be the string "NaN", "Infinity" or "-Infinity", or null (NaN).
 */
export function parseIngestPoints(value: unknown, now: number): MetricPoint[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_POINTS_PER_BATCH)
    throw new ApiError('bad_request', `points must be a list of 1 to ${MAX_POINTS_PER_BATCH} points`, {
      field: 'points',
    });
  let previous = -1;
  return value.map((raw, index) => {
    const p = asObject(raw, `points[${index}]`);
    const iteration = p.iteration;
    if (typeof iteration !== 'number' || !Number.isInteger(iteration) || iteration < 0)
      throw new ApiError(
        'bad_request',
        `points[${index}].iteration must be a non-negative integer, got ${describe(iteration)}`,
        { field: 'iteration' },
      );
    if (iteration <= previous)
      throw new ApiError(
        'bad_request',
        `points[${index}].iteration ${iteration} is not after the previous point's ${previous}`,
        { field: 'iteration' },
      );
    previous = iteration;
    const t = p.t === undefined ? now : scalar(p.t, index, 't');
    if (!Number.isFinite(t)) throw new ApiError('bad_request', `points[${index}].t must be finite`, { field: 't' });
    const point: MetricPoint = {
      iteration,
      loss: p.loss === undefined ? Number.NaN : scalar(p.loss, index, 'loss'),
      metric: Number.NaN,
      itPerSec: 0,
      t,
    };
    const names = Object.keys(p).filter((k) => !POINT_FIELDS.has(k));
    if (names.length > MAX_SCALARS_PER_POINT)
      throw new ApiError(
        'bad_request',
        `points[${index}] has ${names.length} scalars, at most ${MAX_SCALARS_PER_POINT}`,
      );
    if (names.length > 0) {
      point.scalars = {};
      for (const name of names) {
        if (name.length > MAX_NAME_LENGTH)
          throw new ApiError('bad_request', `points[${index}]: metric name longer than ${MAX_NAME_LENGTH}`, {
            tensor: name.slice(0, MAX_NAME_LENGTH),
            field: 'name',
          });
        point.scalars[name] = scalar(p[name], index, name);
      }
    }
    return point;
  });
}

function scalar(value: unknown, index: number, name: string): number {
  if (typeof value === 'number') return value;
  if (value === null || value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  throw new ApiError('bad_request', `points[${index}].${name} must be a number, got ${describe(value)}`, {
    tensor: name,
    field: 'value',
  });
}
