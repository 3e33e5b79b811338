/**
 * HTTP side of the API (`/api/…`): the same commands as the socket events, JSON in and out as `{ok, data|error}`
 * with status codes from the error code, plus stored frames as JSON or `.npy`. Bodies are capped at
 * MAX_PAYLOAD_BYTES.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, failure } from './errors';
import { tensorValues } from './frame-codec';
import { isExternalCreate, parseExternalCreate } from './ingest-decode';
import { createIngestHandler } from './ingest-http';
import { METRICS_QUERY_FIELDS, parseMetricsQuery, readMetrics } from './metric-query';
import type { PackedFrame, PackedTensorInfo } from './worker/messages';
import { MAX_STEP_ITERATIONS, type Ack } from './protocol';
import { MAX_PAYLOAD_BYTES } from './protocol/transport';
import { HTTP_ROUTES, HTTP_STATUS, routePath, type HttpRouteName } from './protocol/http';
import { npyHeader } from './protocol/npy';
import type { RunManager } from './run-manager';
import {
  asObject,
  describe,
  integerField,
  onlyFields,
  optionalString,
  shortText,
  positiveNumberField,
  type Fields,
} from './validate';

type Handler = (params: RouteParams, url: URL, body: () => Promise<Fields>) => Promise<unknown>;

interface RouteParams {
  id: string;
  iteration: string;
}

export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A route template of HTTP_ROUTES as a pattern: `:id` and `:iteration` match one path segment each. */
function compile(path: string): RegExp {
  return new RegExp(`^${path.replace(/:(id|iteration)/g, '(?<$1>[^/]+)')}/?$`);
}

export function createApiHandler(manager: RunManager): ApiHandler {
  /** The body of a route that takes the given fields (none: an empty body or `{}`); others are refused by name. */
  const fields = async (body: () => Promise<Fields>, known: readonly string[]) => onlyFields(await body(), known);
  const handlers: Record<Exclude<HttpRouteName, 'frame'>, Handler> = {
    listRuns: async () => manager.list(),
    createRun: async (_p, _u, body) => {
      const raw = await body();
      if (isExternalCreate(raw))
        return manager.createExternal(parseExternalCreate(onlyFields(raw, ['external', 'name', 'config', 'controls'])));
      const p = onlyFields(raw, ['config', 'name']);
      return manager.create(asObject(p.config, 'config'), optionalString(p, 'name', 200));
    },
    getRun: async (p) => manager.get(decode(p.id)),
    deleteRun: async (p, _u, body) => {
      await fields(body, []);
      return manager.delete(decode(p.id));
    },
    pause: async (p, _u, body) => {
      await fields(body, []);
      return manager.pause(decode(p.id));
    },
    resume: async (p, _u, body) => {
      await fields(body, []);
      return manager.resume(decode(p.id));
    },
    stop: async (p, _u, body) => {
      await fields(body, []);
      return manager.stop(decode(p.id));
    },
    step: async (p, _u, body) =>
      manager.step(decode(p.id), integerField(await fields(body, ['n']), 'n', 1, MAX_STEP_ITERATIONS, true)),
    configure: async (p, _u, body) => {
      const f = await fields(body, ['lr', 'summarize_freq']);
      return manager.configure(
        decode(p.id),
        positiveNumberField(f, 'lr'),
        integerField(f, 'summarize_freq', 1, 1_000_000_000, false),
      );
    },
    capture: async (p, _u, body) => {
      await fields(body, []);
      await manager.capture(decode(p.id));
      return null;
    },
    metrics: async (p, url) => {
      const runId = decode(p.id);
      const fields: Fields = {};
      for (const name of METRICS_QUERY_FIELDS) fields[name] = queryInteger(url, name);
      const query = parseMetricsQuery(fields);
      return readMetrics(manager.metricStore(runId), runId, query);
    },
    frames: async (p) => {
      const runId = decode(p.id);
      return { iterations: manager.frameIterations(runId), oversize: manager.oversizeFrames(runId) };
    },
    storage: async () => manager.storageUsage(),
  };
  const routes = (Object.keys(HTTP_ROUTES) as HttpRouteName[]).map((name) => ({
    name,
    method: HTTP_ROUTES[name].method,
    pattern: compile(HTTP_ROUTES[name].path),
  }));

  const ingest = createIngestHandler(manager);
  return (req, res) => {
    if (ingest(req, res)) return;
    if (ingest(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    for (const { name, method: routeMethod, pattern } of routes) {
      const match = url.pathname.match(pattern);
      // HEAD is GET without the body (Node's response drops the body of a HEAD request by itself).
      if (match === null || (routeMethod !== method && !(method === 'HEAD' && routeMethod === 'GET'))) continue;
      const params = { id: '', iteration: '', ...match.groups };
      if (name === 'frame') {
        void serveFrame(manager, params, url, res);
        return;
      }
      handlers[name](params, url, () => readJsonBody(req)).then(
        (data) => sendJson(res, name === 'createRun' ? 201 : 200, { ok: true, data }),
        (error: unknown) => sendError(res, error, `${method} ${url.pathname}`),
      );
      return;
    }
    sendError(res, new ApiError('not_found', `no route ${shortText(method)} ${shortText(url.pathname, 120)}`), 'route');
  };
}

async function serveFrame(manager: RunManager, params: RouteParams, url: URL, res: ServerResponse): Promise<void> {
  try {
    const runId = decode(params.id);
    const iteration = Number(params.iteration);
    if (!Number.isInteger(iteration) || iteration < 0)
      throw new ApiError('bad_request', `iteration must be a non-negative integer, got ${describe(params.iteration)}`);
    const format = url.searchParams.get('format') ?? 'json';
    if (format !== 'json' && format !== 'npy')
      throw new ApiError('bad_request', `format must be json or npy, got ${describe(format)}`);
    const tensorName = url.searchParams.get('tensor');
    const layer = queryInteger(url, 'layer');
    const frame = manager.storedFrame(runId, iteration);
    let tensors = frame.tensors;
    if (tensorName !== null) {
      tensors = tensors.filter((t) => t.name === tensorName && (layer === undefined || t.layer === layer));
      if (tensors.length === 0) {
        const names = frame.tensors.map((t) => `${t.name}@${t.layer}`).join(', ');
        throw new ApiError(
          'not_found',
          `frame ${iteration} of run ${runId} has no tensor ` +
            `${describe(tensorName)}${layer === undefined ? '' : ` in layer ${layer}`} (has ${describe(names)})`,
        );
      }
    }
    if (format === 'npy') {
      if (tensorName === null)
        throw new ApiError('bad_request', 'format=npy needs tensor=NAME (one .npy holds one array)');
      const tensor = tensors[0];
      const header = npyHeader(tensor.shape);
      const values = tensorValues(frame, tensor);
      const fileName = safeFileName(`${runId}-${iteration}-${tensor.name}-${tensor.layer}`);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': header.length + values.byteLength,
        'content-disposition': `attachment; filename="${fileName}.npy"`,
      });
      if (res.req.method === 'HEAD') {
        res.end();
        return;
      }
      // Float32Array is host-endian; every platform Node runs on here is little-endian, as '<f4' says.
      await streamOut(res, [header, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)]);
      return;
    }
    const values = tensors.reduce((sum, t) => sum + t.byteLength / 4, 0);
    if (values > MAX_JSON_FRAME_VALUES) {
      const example = routePath('frame', { id: runId, iteration });
      throw new ApiError(
        'frame_too_large',
        `frame ${iteration} holds ${values} values, more than the ${MAX_JSON_FRAME_VALUES} a JSON download may; ` +
          `fetch one tensor at a time as .npy: ${example}?format=npy&tensor=${encodeURIComponent(tensors[0].name)}` +
          ` (tensors: ${describe(tensors.map((t) => t.name).join(', '))})`,
      );
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    await streamOut(res, frameJsonPieces(runId, frame, tensors));
  } catch (error) {
    sendError(res, error, `GET ${url.pathname}`);
  }
}

/**
 * The JSON of a stored frame (`{ok: true, data: {…, tensors: [{…, data: [numbers]}]}}`) in pieces of at most
 * JSON_CHUNK_VALUES numbers, so formatting a large frame never holds the event loop for long. JSON has no NaN or
 * Infinity: those values become null.
 */
function* frameJsonPieces(runId: string, frame: PackedFrame, tensors: readonly PackedTensorInfo[]): Generator<string> {
  const head = { runId, iteration: frame.iteration, timesteps: frame.timesteps, capturedAt: frame.capturedAt };
  yield `{"ok":true,"data":${JSON.stringify(head).slice(0, -1)},"tensors":[`;
  for (const [i, t] of tensors.entries()) {
    const info = {
      name: t.name,
      layer: t.layer,
      shape: t.shape,
      axes: t.axes,
      range: t.range,
      description: t.description,
      nonFinite: t.nonFinite,
    };
    yield `${i === 0 ? '' : ','}${JSON.stringify(info).slice(0, -1)},"data":[`;
    const data = tensorValues(frame, t);
    for (let start = 0; start < data.length; start += JSON_CHUNK_VALUES) {
      const end = Math.min(data.length, start + JSON_CHUNK_VALUES);
      const parts = new Array<string>(end - start);
      for (let k = start; k < end; k++) parts[k - start] = Number.isFinite(data[k]) ? String(data[k]) : 'null';
      yield `${start === 0 ? '' : ','}${parts.join(',')}`;
    }
    yield ']}';
  }
  yield ']}}';
}

/**
 * Write pieces to a response one at a time, yielding to the event loop between them and waiting whenever the socket's
 * buffer is full; a client that goes away ends it.
 */
async function streamOut(res: ServerResponse, pieces: Iterable<string | Uint8Array>): Promise<void> {
  for (const piece of pieces) {
    if (res.destroyed) return;
    const chunks =
      typeof piece === 'string'
        ? [piece]
        : Array.from({ length: Math.ceil(piece.length / BINARY_CHUNK_BYTES) }, (_, i) =>
            piece.subarray(i * BINARY_CHUNK_BYTES, (i + 1) * BINARY_CHUNK_BYTES),
          );
    for (const chunk of chunks) {
      if (!res.write(chunk)) await drained(res);
      // Always a turn of the event loop too: a socket that took the bytes at once emits 'drain' on the next tick,
      // which would chain every piece without letting anything else run.
      await new Promise<void>((done) => setImmediate(done));
      if (res.destroyed) return;
    }
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      res.off('drain', finish);
      res.off('close', finish);
      done();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}

/** Largest frame (in float values over the chosen tensors) served as JSON; larger ones are refused with a pointer
 *  to the `.npy` download. About 10–20 MB of JSON. */
export const MAX_JSON_FRAME_VALUES = 1_000_000;
/** Numbers formatted per JSON piece: about a millisecond of work. */
const JSON_CHUNK_VALUES = 8192;
/** Bytes per write of a binary download. */
const BINARY_CHUNK_BYTES = 1 << 20;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError('bad_request', `malformed run id ${describe(segment)}`);
  }
}

function queryInteger(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value))
    throw new ApiError('bad_request', `${name} must be an integer, got ${describe(raw)}`);
  return value;
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Read a JSON object body of at most MAX_PAYLOAD_BYTES; an empty body is `{}`. */
function readJsonBody(req: IncomingMessage): Promise<Fields> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_PAYLOAD_BYTES) {
      reject(new ApiError('payload_too_large', `body of ${declared} bytes exceeds ${MAX_PAYLOAD_BYTES}`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        rejected = true;
        chunks.length = 0;
        reject(new ApiError('payload_too_large', `body exceeds ${MAX_PAYLOAD_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (error) => {
      if (!rejected) reject(error);
      rejected = true;
    });
    req.on('end', () => {
      if (rejected) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        reject(new ApiError('bad_request', 'body is not valid JSON'));
        return;
      }
      try {
        resolve(asObject(parsed, 'body', true));
      } catch (error) {
        reject(error);
      }
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: Ack<unknown>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: unknown, context: string): void {
  const ack = failure<unknown>(error, context);
  if (ack.ok) return;
  if (ack.error.code === 'payload_too_large') res.setHeader('connection', 'close');
  sendJson(res, HTTP_STATUS[ack.error.code], ack);
}
