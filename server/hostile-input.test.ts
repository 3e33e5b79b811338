// Regression tests for the smaller defects of issue 13 §2.8 and §2.7: extra socket arguments, security headers,
// short and clear error messages, HEAD, unknown body fields, per-field maxima, deleting runs, a one-line refusal at
// start, and the dev origins that let a dashboard connect on every host the server accepts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isCsrfOriginAllowed } from 'next/dist/server/app-render/csrf-protection';
import { allowedDevOrigins, DEV_ORIGINS_ENV } from './dev-origins';
import type { Ack, RunSummary } from './protocol';
import {
  getJson,
  postJson,
  startTestServer,
  tempDataDir,
  unwrap,
  waitFor,
  type TestServer,
} from './testing/test-server';

const root = join(__dirname, '..');

function errorOf(res: { body: Ack<unknown> }): { code: string; message: string } {
  assert.ok(!res.body.ok, `expected an error, got ${JSON.stringify(res.body).slice(0, 200)}`);
  return res.body.error;
}

describe('hostile input, §2.8', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.teardown());

  test('a socket command with extra arguments gets a typed error; the ack is always the last argument', async () => {
    const client = await server.client();
    const emit = client.emit.bind(client) as unknown as (event: string, ...args: unknown[]) => void;
    const answer = (event: string, ...args: unknown[]) =>
      new Promise<Ack<unknown>>((resolve) => emit(event, ...args, resolve));
    const extra = await answer('run:list', {}, 'extra');
    assert.equal(extra.ok ? 'ok' : extra.error.code, 'bad_request');
    assert.match(extra.ok ? '' : extra.error.message, /run:list takes one payload object and an ack; got 2/);
    const many = await answer('training:pause', { runId: 'x' }, 1, 2, 3);
    assert.equal(many.ok ? 'ok' : many.error.code, 'bad_request');
    assert.ok((await answer('run:list')).ok, 'no payload at all is {}');
    const unknown = await answer('training:pause', { runId: 'x', force: true });
    assert.match(unknown.ok ? '' : unknown.error.message, /payload: unknown field "force" \(known: runId\)/);
  });

  test('every response carries CSP, nosniff, DENY and no X-Powered-By', async () => {
    for (const path of ['/api/runs', '/api/nothing', '/runs/x']) {
      const res = await fetch(`${server.url}${path}`);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(res.headers.get('x-powered-by'), null, path);
    }
  });

  test('error messages are short whatever was sent, and clear about wrong types', async () => {
    const base = `${server.url}/api/runs`;
    const cases: [unknown, RegExp][] = [
      [{ config: { nhid: [] } }, /^config\.nhid: expected a number, got an array$/],
      [{ config: { nhid: {} } }, /^config\.nhid: expected a number, got an object$/],
      [{ config: { nhid: true } }, /^config\.nhid: expected a number, got a boolean \(true\)$/],
      [{ config: { task: 7 } }, /^config\.task: expected one of copy, .*, got a number \(7\)$/],
      [{ config: { nhid: 'x'.repeat(20_000) } }, /^config\.nhid: 'x{37}\.\.\.' is not a number$/],
      [{ config: { ['y'.repeat(20_000)]: 1 } }, /^config\.y{37}\.\.\.: unknown field/],
      [{ config: { ['_'.repeat(20_000)]: 1 } }, /^config\._{37}\.\.\.: unknown field$/],
      [{ config: {}, name: 'n'.repeat(20_000) }, /^name must be a string of at most 200 characters, got "n+\.\.\.$/],
    ];
    for (const [body, message] of cases) {
      const res = await postJson(base, body);
      assert.equal(res.status, 400);
      const error = errorOf(res);
      assert.match(error.message, message);
      assert.ok(error.message.length < 600, `${error.message.length} characters`);
    }
  });

  test('unknown top-level body fields are refused by name', async () => {
    const res = await postJson(`${server.url}/api/runs`, { config: {}, confg: { nhid: 8 } });
    assert.equal(res.status, 400);
    assert.match(errorOf(res).message, /^body: unknown field "confg" \(known: config, name\)$/);
    const step = await postJson(`${server.url}/api/runs/x/step`, { n: 1, count: 2 });
    assert.match(errorOf(step).message, /unknown field "count" \(known: n\)/);
    const pause = await postJson(`${server.url}/api/runs/x/pause`, { now: true });
    assert.match(errorOf(pause).message, /unknown field "now" \(known: none\)/);
  });

  test('config values above their maximum are refused, naming field, value and maximum', async () => {
    const cases: [Record<string, number>, RegExp][] = [
      [{ mem_slot: 2_000_000 }, /^config\.mem_slot: 2000000 is above the maximum 1048576$/],
      [{ batch_size: 1e6 }, /^config\.batch_size: 1000000 is above the maximum 1024$/],
      [{ sequence_max_length: 1e6 }, /^config\.sequence_max_length: 1000000 is above the maximum 1000$/],
      [{ nlayer: 1e6 }, /^config\.nlayer: 1000000 is above the maximum 8$/],
      [{ nhlayer: 1e6 }, /^config\.nhlayer: 1000000 is above the maximum 8$/],
      [{ nhid: 1e6 }, /^config\.nhid: 1000000 is above the maximum 4096$/],
    ];
    for (const [config, message] of cases)
      assert.match(errorOf(await postJson(`${server.url}/api/runs`, { config })).message, message);
  });

  test('HEAD answers on GET routes, without a body', async () => {
    const run = unwrap(
      (await postJson(`${server.url}/api/runs`, { config: { _trainer: 'synthetic', _step_ms: 5, summarize_freq: 1 } }))
        .body,
    ) as RunSummary;
    const frames = await waitFor('a stored frame', async () => {
      const list = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as { iterations: number[] };
      return list.iterations.length > 0 ? list.iterations : null;
    });
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/stop`, {})).body);
    for (const path of [
      '/api/runs',
      `/api/runs/${run.id}`,
      `/api/runs/${run.id}/metrics`,
      `/api/runs/${run.id}/frames/${frames[0]}`,
    ]) {
      const res = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      assert.equal(res.status, 200, path);
      assert.equal((await res.arrayBuffer()).byteLength, 0, path);
    }
    assert.equal((await fetch(`${server.url}/api/runs/nope`, { method: 'HEAD' })).status, 404);
  });

  test('a run is deleted with its storage over HTTP and sockets; a training run is refused', async () => {
    const watcher = await server.client();
    const deleted: string[] = [];
    watcher.on('run:deleted', ({ runId }) => deleted.push(runId));
    const config = { _trainer: 'synthetic', _step_ms: 5, summarize_freq: 1 };
    const run = unwrap((await postJson(`${server.url}/api/runs`, { config })).body) as RunSummary;
    await waitFor('metrics and a frame', async () => {
      const list = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as { iterations: number[] };
      return list.iterations.length > 0;
    });
    const refused = await fetch(`${server.url}/api/runs/${run.id}`, { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /is training; pause or stop/,
    );
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/pause`, {})).body);
    const gone = await fetch(`${server.url}/api/runs/${run.id}`, { method: 'DELETE' });
    assert.equal(gone.status, 200);
    assert.deepEqual((await gone.json()) as Ack<unknown>, { ok: true, data: { runId: run.id } });
    assert.equal((await getJson(`${server.url}/api/runs/${run.id}`)).status, 404);
    assert.equal((await getJson(`${server.url}/api/runs/${run.id}/frames`)).status, 404);
    await waitFor('run:deleted pushed', () => deleted.includes(run.id));
    const db = new Database(join(server.dataDir, 'engram.sqlite'), { readonly: true });
    try {
      for (const [table, column] of [
        ['runs', 'id'],
        ['metrics', 'run_id'],
        ['frames', 'run_id'],
        ['checkpoints', 'run_id'],
      ]) {
        const { n } = db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`).get(run.id) as { n: number };
        assert.equal(n, 0, `${table} rows of the deleted run`);
      }
    } finally {
      db.close();
    }
    const other = unwrap((await postJson(`${server.url}/api/runs`, { config })).body) as RunSummary;
    unwrap((await postJson(`${server.url}/api/runs/${other.id}/stop`, {})).body);
    assert.deepEqual(unwrap(await watcher.emitWithAck('run:delete', { runId: other.id })), { runId: other.id });
    const again = await watcher.emitWithAck('run:delete', { runId: other.id });
    assert.equal(again.ok ? 'ok' : again.error.code, 'not_found');
  });
});

test('refusing --host 0.0.0.0 without a token prints one line, not a stack', () => {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/main.ts',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--no-next',
      '--data-dir',
      tempDataDir('host'),
    ],
    { cwd: root, env: { ...process.env, ENGRAM_TOKEN: '' }, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(result.status, 1);
  assert.equal(
    result.stderr.trim(),
    'engram: refusing to listen on 0.0.0.0 without a token: set ENGRAM_TOKEN (or listen on 127.0.0.1)',
  );
});

describe('dev origins, §2.7', () => {
  test('without a token only loopback names may use Next dev resources', () => {
    const origins = allowedDevOrigins(false);
    for (const host of ['localhost', '127.0.0.1', '[::1]']) assert.ok(isCsrfOriginAllowed(host, origins), host);
    for (const host of ['attacker.example', '192.168.1.7']) assert.ok(!isCsrfOriginAllowed(host, origins), host);
  });

  test('with a token every host the server accepts may: names, this machine, its addresses, the printed URL', () => {
    const origins = allowedDevOrigins(true);
    for (const host of ['127.0.0.1', 'localhost', '192.168.1.7', '10.0.0.2', 'box.lan', hostname().toLowerCase()])
      assert.ok(isCsrfOriginAllowed(host, origins), host);
  });

  test('next.config.js takes the list the server hands it', () => {
    const result = spawnSync(
      process.execPath,
      ['-e', "process.stdout.write(JSON.stringify(require('./next.config.js').allowedDevOrigins))"],
      { cwd: root, env: { ...process.env, [DEV_ORIGINS_ENV]: 'localhost,**.*' }, encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(result.stdout), ['localhost', '**.*']);
  });
});
