/**
 * The HTTP side of the protocol (imports nothing from the project): the route table the server's router is built
 * from, the ingest routes, and the status code of each error code.
 */
import type { ErrorCode } from '../protocol';

/**
 * HTTP routes: JSON bodies, JSON responses as `Ack`-shaped `{ok, data|error}`, status codes from the error code.
 * `:id` is a run id, `:iteration` a stored frame's iteration. The server's router is built from this table.
 */
export const HTTP_ROUTES = {
  listRuns: { method: 'GET', path: '/api/runs' },
  createRun: { method: 'POST', path: '/api/runs' }, // {config, name?} → 201
  getRun: { method: 'GET', path: '/api/runs/:id' },
  deleteRun: { method: 'DELETE', path: '/api/runs/:id' }, // refused while the run trains; removes its storage
  pause: { method: 'POST', path: '/api/runs/:id/pause' },
  resume: { method: 'POST', path: '/api/runs/:id/resume' },
  stop: { method: 'POST', path: '/api/runs/:id/stop' },
  step: { method: 'POST', path: '/api/runs/:id/step' }, // {n}
  configure: { method: 'POST', path: '/api/runs/:id/configure' }, // {lr?, summarize_freq?}
  capture: { method: 'POST', path: '/api/runs/:id/capture' },
  metrics: { method: 'GET', path: '/api/runs/:id/metrics' }, // ?since=ITER&until=ITER&limit=N|max_points=N
  frames: { method: 'GET', path: '/api/runs/:id/frames' }, // stored iterations
  frame: { method: 'GET', path: '/api/runs/:id/frames/:iteration' }, // ?format=json|npy&tensor=NAME[&layer=L]
  storage: { method: 'GET', path: '/api/storage' }, // StorageUsage: disk used against the global budget
} as const;
export type HttpRouteName = keyof typeof HTTP_ROUTES;

/**
 * External runs' ingest routes (POST; served by `ingest-http.ts` before the router): metrics {points}; frames (binary
 * body); heartbeat; wait {timeout_ms?}; close {state?}. `POST /api/runs` with `{external: true}` creates one.
 */
export const INGEST_ROUTES = {
  ingestMetrics: '/api/runs/:id/metrics',
  ingestFrame: '/api/runs/:id/frames',
  heartbeat: '/api/runs/:id/heartbeat',
  wait: '/api/runs/:id/wait',
  close: '/api/runs/:id/close',
} as const;

/** A route's path for concrete parameters, e.g. `routePath('frame', { id, iteration: 3 })`. */
export function routePath(name: HttpRouteName, params: { id?: string; iteration?: number } = {}): string {
  return HTTP_ROUTES[name].path.replace(/:(id|iteration)/g, (_m, key: 'id' | 'iteration') => {
    const value = params[key];
    if (value === undefined) throw new Error(`routePath(${name}): missing :${key}`);
    return encodeURIComponent(String(value));
  });
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  invalid_state: 409,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden_origin: 403,
  forbidden_host: 403,
  protocol_mismatch: 400,
  frame_too_large: 413,
  storage_failed: 503,
  over_budget: 422,
  timeout: 504,
  internal: 500,
};
