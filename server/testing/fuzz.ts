/**
 * Seeded fuzzers for the HTTP API and the socket commands: malformed and hostile requests, generated from one seed
 * so a failure replays exactly. Each case is checked for what the server promises whatever it is sent — no 5xx, an
 * answer in the protocol's shape with an error code from its closed set, a bounded message — and the server must
 * still answer a plain request afterwards. Used by `server/fuzz.test.ts` (few cases, fixed seed, in `npm test`) and
 * `npm run bench:fuzz -- --cases N` (many).
 */
import http from 'node:http';
import { seededRandom } from '../../engine/memory/fused/random-step-inputs';
import { ERROR_CODES, type Ack } from '../protocol';
import { HTTP_ROUTES } from '../protocol/http';
import type { TestClient } from './test-server';

export interface FuzzSummary {
  cases: number;
  /** Answers by HTTP status (HTTP) or by `ok`/error code (socket). */
  outcomes: Record<string, number>;
  /** Cases that broke a promise, with the request that did it (at most 20 kept). */
  failures: string[];
  failureCount: number;
}

/** The engine's seeded generator (mulberry32), enough to pick cases; re-exported for the fuzz tests. */
export { seededRandom };

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];

const STRINGS = [
  '',
  ' ',
  'copy',
  'adam',
  '..',
  '../../etc/passwd',
  '%2e%2e%2f',
  '<script>alert(1)</script>',
  '"; DROP TABLE runs; --',
  'ünïcödé ✓',
  '\u0000',
  '\ud800',
  '1e309',
  'NaN',
  '-1',
  'x'.repeat(5000),
];
const NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 31, 2 ** 53, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 1e6, 3];
const CONFIG_FIELDS = [
  'task',
  'nhid',
  'mem_slot',
  'mem_size',
  'read_heads',
  'batch_size',
  'sequence_max_length',
  'lr',
  'optim',
  'memory_type',
  'nlayer',
  'seed',
  'bogus',
  '__proto__',
  'constructor',
  '_throw_at',
];

/** Any JSON value, nested at most `depth` deep. */
function value(random: Random, depth = 2): unknown {
  const kind = Math.floor(random() * (depth > 0 ? 8 : 6));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
    case 3:
      return pick(random, NUMBERS);
    case 4:
    case 5:
      return pick(random, STRINGS);
    case 6:
      return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth - 1));
    default:
      return object(random, depth - 1);
  }
}

function object(random: Random, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++)
    out[pick(random, [...CONFIG_FIELDS, 'runId', 'n', 'since', 'iteration'])] = value(random, depth);
  return out;
}

/**
 * A run config: random fields, but always the synthetic trainer, so a case that happens to be valid starts a cheap
 * synthetic run rather than a real engine (the fuzzer stops and deletes whatever it creates).
 */
function config(random: Random): unknown {
  if (random() < 0.1) return pick(random, [null, 'copy', [1], 3, true]);
  const out: Record<string, unknown> = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) out[pick(random, CONFIG_FIELDS)] = value(random, 1);
  return { ...out, ...SYNTHETIC };
}

/** A cheap synthetic run with small frames whatever mem_slot and mem_size say. */
const SYNTHETIC = { _trainer: 'synthetic', _step_ms: 5, _frame_cells: 4, _frame_width: 4 };

function payload(random: Random, runIds: readonly string[]): unknown {
  const roll = random();
  if (roll < 0.1) return value(random);
  if (roll < 0.3)
    return random() < 0.5 ? { config: config(random) } : { config: config(random), name: value(random, 0) };
  const out: Record<string, unknown> = {};
  if (roll < 0.9) out.runId = random() < 0.6 && runIds.length > 0 ? pick(random, runIds) : value(random, 0);
  if (random() < 0.3) out.config = config(random);
  if (random() < 0.3) out.n = value(random, 0);
  if (random() < 0.2) out.since = value(random, 0);
  if (random() < 0.2) out.iteration = value(random, 0);
  if (random() < 0.2) out.lr = value(random, 0);
  if (random() < 0.15) out[pick(random, STRINGS).slice(0, 30) || 'extra'] = value(random, 1);
  return out;
}

/** Whether an answer has the protocol's shape, with a known error code and a bounded message. */
export function isTypedAck(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const ack = body as Ack<unknown>;
  if (ack.ok === true) return 'data' in ack;
  if (ack.ok !== false || typeof ack.error !== 'object' || ack.error === null) return false;
  const { code, message } = ack.error;
  return (ERROR_CODES as readonly string[]).includes(code) && typeof message === 'string' && message.length <= 1000;
}

function request(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; type: string; text: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    // One connection per case, and a declared length: Node's client sends a GET/OPTIONS/DELETE body unframed
    // otherwise, which is a different (broken) request than the one generated.
    const framed = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: framed, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

/** URL-encode, with a lone surrogate sent as the raw bytes of its code unit (what a broken client would send). */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

const METHODS = ['GET', 'GET', 'POST', 'POST', 'DELETE', 'HEAD', 'PUT', 'PATCH', 'OPTIONS'];

function path(random: Random, runIds: readonly string[]): string {
  const route = pick(random, Object.values(HTTP_ROUTES)).path;
  const id = random() < 0.5 && runIds.length > 0 ? pick(random, runIds) : encode(pick(random, STRINGS));
  const raw = random() < 0.1 ? pick(random, ['%', '%zz', '..', '.', '%2e%2e', '']) : id;
  let out = route.replace(':id', raw).replace(':iteration', String(pick(random, [...NUMBERS, 'x', '-3', '1e3'])));
  if (random() < 0.1) out = pick(random, ['/api', '/api/', '/api/runs/a/b/c/d', '/api/_test/restart', '/nope']);
  if (random() < 0.3) {
    const name = pick(random, ['since', 'format', 'tensor', 'layer', 'token']);
    out += `?${name}=${encode(String(value(random, 0)))}`;
  }
  return out;
}

function body(random: Random, runIds: readonly string[]): string | undefined {
  const roll = random();
  if (roll < 0.15) return undefined;
  if (roll < 0.25) return pick(random, ['{', '{"config":', 'null', '[]', '"x"', '1', '\u0000', '{"a":1}{']);
  if (roll < 0.3) return JSON.stringify({ config: config(random), pad: 'p'.repeat(Math.floor(random() * 200_000)) });
  return JSON.stringify(payload(random, runIds));
}

/** HTTP fuzz: `cases` requests over every route. */
export async function fuzzHttp(url: string, seed: number, cases: number): Promise<FuzzSummary> {
  const random = seededRandom(seed);
  const summary: FuzzSummary = { cases, outcomes: {}, failures: [], failureCount: 0 };
  const runIds: string[] = [];
  const fail = (what: string) => {
    summary.failureCount++;
    if (summary.failures.length < 20) summary.failures.push(what);
  };
  // Two real (synthetic) runs, so that cases reach the run routes and not only "no such run".
  for (const name of ['fuzz-a', 'fuzz-b']) {
    const created = await request(
      url,
      'POST',
      '/api/runs',
      { 'content-type': 'application/json' },
      JSON.stringify({ name, config: SYNTHETIC }),
    );
    runIds.push((JSON.parse(created.text) as { data: { id: string } }).data.id);
  }
  for (let i = 0; i < cases; i++) {
    const method = pick(random, METHODS);
    const target = path(random, runIds);
    const text = method === 'GET' || method === 'HEAD' ? undefined : body(random, runIds);
    const headers: Record<string, string> = {};
    if (random() < 0.7) headers['content-type'] = pick(random, ['application/json', 'text/plain', 'x/y']);
    if (random() < 0.1) headers.origin = pick(random, ['http://evil.example', 'null', url]);
    const what = `#${i} ${method} ${target.slice(0, 120)} ${text?.slice(0, 120) ?? ''}`;
    let res: { status: number; type: string; text: string };
    try {
      res = await request(url, method, target, headers, text);
    } catch (error) {
      fail(`${what}: ${String(error)}`);
      continue;
    }
    summary.outcomes[res.status] = (summary.outcomes[res.status] ?? 0) + 1;
    if (res.status >= 500) fail(`${what}: status ${res.status} ${res.text.slice(0, 200)}`);
    if (method === 'HEAD' || !res.type.startsWith('application/json')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      fail(`${what}: a JSON answer that does not parse`);
      continue;
    }
    if (!isTypedAck(parsed)) fail(`${what}: untyped answer ${res.text.slice(0, 200)}`);
    const ack = parsed as Ack<{ id?: string }>;
    // Whatever it created is stopped and deleted, so runs do not pile up.
    if (res.status === 201 && ack.ok && typeof ack.data.id === 'string') {
      runIds.push(ack.data.id);
      await request(url, 'POST', `/api/runs/${ack.data.id}/stop`, {}, undefined);
      if (runIds.length > 6) await request(url, 'DELETE', `/api/runs/${runIds.splice(2, 1)[0]}`, {}, undefined);
    }
  }
  const alive = await request(url, 'GET', '/api/runs', {}, undefined).catch(() => null);
  if (alive?.status !== 200) fail('the server no longer answers GET /api/runs');
  return summary;
}

const EVENTS = [
  'run:list',
  'run:create',
  'run:subscribe',
  'run:unsubscribe',
  'run:delete',
  'training:pause',
  'training:resume',
  'training:step',
  'training:stop',
  'training:configure',
  'frame:capture',
  'frame:get',
  'metrics:get',
  'frame:ack',
  'no:such-event',
];

/** Socket fuzz: `cases` commands with random payloads and argument counts; each with an ack must be answered. */
export async function fuzzSocket(client: TestClient, seed: number, cases: number): Promise<FuzzSummary> {
  const random = seededRandom(seed);
  const summary: FuzzSummary = { cases, outcomes: {}, failures: [], failureCount: 0 };
  const runIds: string[] = [];
  const fail = (what: string) => {
    summary.failureCount++;
    if (summary.failures.length < 20) summary.failures.push(what);
  };
  const emit = client.emit.bind(client) as unknown as (event: string, ...args: unknown[]) => void;
  for (const name of ['fuzz-c', 'fuzz-d']) {
    const created = await client.emitWithAck('run:create', { name, config: SYNTHETIC });
    if (created.ok) runIds.push(created.data.id);
  }
  for (let i = 0; i < cases; i++) {
    const event = pick(random, EVENTS);
    const args = Array.from({ length: Math.floor(random() * 3) }, () => payload(random, runIds));
    const what = `#${i} ${event} ${JSON.stringify(args).slice(0, 200)}`;
    if (random() < 0.1 || event === 'frame:ack') {
      emit(event, ...args);
      summary.outcomes['no ack'] = (summary.outcomes['no ack'] ?? 0) + 1;
      continue;
    }
    const answer = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), event === 'no:such-event' ? 50 : 10_000);
      emit(event, ...args, (res: unknown) => {
        clearTimeout(timer);
        resolve(res);
      });
    });
    if (event === 'no:such-event') {
      summary.outcomes['unknown event'] = (summary.outcomes['unknown event'] ?? 0) + 1;
      if (answer !== 'timeout') fail(`${what}: an unknown event was answered`);
      continue;
    }
    if (answer === 'timeout') {
      fail(`${what}: no answer`);
      continue;
    }
    if (!isTypedAck(answer)) {
      fail(`${what}: untyped answer ${JSON.stringify(answer).slice(0, 200)}`);
      continue;
    }
    const ack = answer as Ack<{ id?: string }>;
    const outcome = ack.ok ? 'ok' : ack.error.code;
    summary.outcomes[outcome] = (summary.outcomes[outcome] ?? 0) + 1;
    if (!ack.ok && ack.error.code === 'internal') fail(`${what}: internal error`);
    if (event === 'run:create' && ack.ok && typeof ack.data.id === 'string') {
      runIds.push(ack.data.id);
      await client.emitWithAck('training:stop', { runId: ack.data.id });
      if (runIds.length > 6) await client.emitWithAck('run:delete', { runId: runIds.splice(2, 1)[0] });
    }
  }
  if (!client.connected) fail('the socket was disconnected');
  else if (!(await client.emitWithAck('run:list', {})).ok) fail('run:list no longer answers');
  return summary;
}
