// Faults and hostile input: crashing, out-of-memory and NaN workers affect only their run; garbage payloads get
// typed errors; the server keeps serving; a non-loopback server enforces its token and Origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngramServer } from './app';
import type { Ack, RunSummary } from './protocol';
import { MAX_PAYLOAD_BYTES } from './protocol/transport';
import {
  getJson,
  postJson,
  runOf,
  startTestServer,
  tempDataDir,
  unwrap,
  waitFor,
  type TestServer,
} from './testing/test-server';

describe('faults stay inside their run', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ workerMaxOldGenerationMb: 128 });
  });
  after(() => server.teardown());

  test('a throwing worker and one out of memory fail their runs; the others train on', async () => {
    const client = await server.client();
    const healthy = unwrap(await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2 } }));
    const crashing = unwrap(
      await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2, _throw_at: 5 } }),
    );
    const hungry = unwrap(
      await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 2, _oom_at: 3 } }),
    );

    const crashed = await waitFor('the crashing run to fail', async () => {
      const r = await runOf(server.url, crashing.id);
      return r.state === 'failed' ? r : null;
    });
    assert.equal(crashed.failure?.reason, 'worker_error');
    assert.match(crashed.failure?.message ?? '', /throws at iteration 5/);
    assert.equal(crashed.iteration, 4);

    const starved = await waitFor('the hungry run to fail', async () => {
      const r = await runOf(server.url, hungry.id);
      return r.state === 'failed' ? r : null;
    });
    assert.equal(starved.failure?.reason, 'out_of_memory');

    const before = (await runOf(server.url, healthy.id)).iteration;
    await waitFor(
      'the healthy run to go on',
      async () => (await runOf(server.url, healthy.id)).iteration > before + 10,
    );
    assert.equal((await runOf(server.url, healthy.id)).state, 'running');
    const refused = await client.emitWithAck('training:resume', { runId: crashing.id });
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'invalid_state');
    unwrap(await client.emitWithAck('training:stop', { runId: healthy.id }));
  });

  test('a NaN pauses the run with a failure naming the tensor and iteration; resume clears it', async () => {
    const client = await server.client();
    const run = unwrap(
      await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', _step_ms: 1, _nan_at: 4 } }),
    );
    const paused = await waitFor('the NaN to pause the run', async () => {
      const r = await runOf(server.url, run.id);
      return r.state === 'paused' ? r : null;
    });
    assert.equal(paused.iteration, 3, 'the refused iteration did not count');
    assert.deepEqual(
      { reason: paused.failure?.reason, tensor: paused.failure?.tensor, iteration: paused.failure?.iteration },
      { reason: 'nan', tensor: 'loss', iteration: 4 },
    );
    // The refused iteration's frame is stored, so the dashboard can show where the NaN appeared.
    const stored = await getJson(`${server.url}/api/runs/${run.id}/frames/4?format=json`);
    assert.equal(stored.status, 200);
    const resumed = unwrap(await client.emitWithAck('training:resume', { runId: run.id }));
    assert.equal(resumed.failure, null);
    await waitFor('training past the NaN', async () => (await runOf(server.url, run.id)).iteration > 5);
    unwrap(await client.emitWithAck('training:stop', { runId: run.id }));
  });
});

describe('hostile input', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ testHooks: false });
  });
  after(() => server.teardown());

  test('HTTP: malformed bodies, bad fields and unknown routes get typed errors', async () => {
    const base = `${server.url}/api`;
    const notJson = await fetch(`${base}/runs`, { method: 'POST', body: '{nope' });
    assert.equal(notJson.status, 400);
    const cases: [Promise<{ status: number; body: Ack<unknown> }>, number, string, RegExp][] = [
      [postJson(`${base}/runs`, { config: { nhid: 'many' } }), 400, 'bad_request', /nhid/],
      [postJson(`${base}/runs`, { config: { bogus_flag: 1 } }), 400, 'bad_request', /bogus_flag/],
      [postJson(`${base}/runs`, { config: { _throw_at: 1 } }), 400, 'bad_request', /_throw_at/],
      [postJson(`${base}/runs`, { config: 'copy' }), 400, 'bad_request', /config/],
      [postJson(`${base}/runs`, [1, 2]), 400, 'bad_request', /body/],
      [getJson(`${base}/runs/nope`), 404, 'not_found', /nope/],
      [postJson(`${base}/runs/nope/step`, { n: 2 }), 404, 'not_found', /nope/],
      [getJson(`${base}/runs/nope/metrics?since=abc`), 400, 'bad_request', /since/],
      [getJson(`${base}/runs/nope/frames/-3`), 400, 'bad_request', /iteration/],
      [getJson(`${base}/whatever`), 404, 'not_found', /whatever/],
      [
        postJson(`${base}/runs`, { config: {}, pad: 'x'.repeat(MAX_PAYLOAD_BYTES) }),
        413,
        'payload_too_large',
        /exceeds/,
      ],
    ];
    for (const [pending, status, code, message] of cases) {
      const res = await pending;
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.ok, false);
      if (!res.body.ok) {
        assert.equal(res.body.error.code, code);
        assert.match(res.body.error.message, message);
      }
    }
    const run = unwrap(
      (
        await postJson(`${base}/runs`, {
          config: { nhid: 8, mem_slot: 4, mem_size: 4, read_heads: 1, batch_size: 1, summarize_freq: 1000 },
        })
      ).body,
    ) as RunSummary;
    for (const n of [0, -1, 1.5, 'three', null]) {
      const res = await postJson(`${base}/runs/${run.id}/step`, { n });
      assert.equal(res.status, 400);
    }
    const badLr = await postJson(`${base}/runs/${run.id}/configure`, { lr: -1 });
    assert.equal(badLr.status, 400);
    const npyWithoutTensor = await getJson(`${base}/runs/${run.id}/frames/1?format=npy`);
    assert.ok(npyWithoutTensor.status === 400 || npyWithoutTensor.status === 404);
    assert.equal((await postJson(`${base}/runs/${run.id}/stop`, {})).status, 200);
  });

  test('socket: garbage payloads are answered with typed errors and never crash the server', async () => {
    const client = await server.client();
    const garbage: unknown[] = [
      null,
      5,
      'str',
      [],
      { runId: 5 },
      { runId: '' },
      { runId: 'nope' },
      { runId: 'nope', n: -1 },
    ];
    const events = [
      'training:pause',
      'training:resume',
      'training:step',
      'training:stop',
      'training:configure',
      'frame:capture',
      'frame:get',
      'metrics:get',
      'run:subscribe',
      'run:create',
    ] as const;
    for (const event of events) {
      for (const payload of garbage) {
        // Deliberately untyped: the point is what the server does with payloads the types forbid.
        const res = (await client
          .timeout(5000)
          .emitWithAck(event as 'training:pause', payload as { runId: string })) as Ack<unknown>;
        assert.equal(res.ok, false, `${event} ${JSON.stringify(payload)}`);
        if (!res.ok) assert.ok(['bad_request', 'not_found'].includes(res.error.code), `${event}: ${res.error.code}`);
      }
    }
    client.emit('frame:ack', null as unknown as { runId: string; iteration: number });
    client.emit(
      'training:pause',
      { runId: 'no ack function' } as { runId: string },
      undefined as unknown as (res: Ack<RunSummary>) => void,
    );
    // An oversized message closes only that connection.
    const big = await server.client();
    const closed = new Promise((resolve) => big.once('disconnect', resolve));
    big.emit('run:create', { config: { pad: 'x'.repeat(MAX_PAYLOAD_BYTES + 10) } }, () => undefined);
    await closed;
    const list = unwrap(await client.emitWithAck('run:list', {}));
    assert.ok(Array.isArray(list));
  });
});

describe('token and origin when not on loopback', () => {
  test('refuses to start without a token', async () => {
    await assert.rejects(
      createEngramServer({ host: '0.0.0.0', port: 0, next: false, dataDir: tempDataDir('notoken') }),
      /ENGRAM_TOKEN/,
    );
  });

  test('every request and socket must carry the token; writes check Origin', async () => {
    const server = await startTestServer({ host: '0.0.0.0', token: 's3cret' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:/);
      assert.equal((await getJson(`${server.url}/api/runs`)).status, 401);
      assert.equal((await getJson(`${server.url}/api/runs?token=wrong`)).status, 401);
      assert.equal((await getJson(`${server.url}/api/runs?token=s3cret`)).status, 200);
      assert.equal((await getJson(`${server.url}/api/runs`, { headers: { 'x-engram-token': 's3cret' } })).status, 200);
      const config = { config: { nhid: 8, mem_slot: 4, mem_size: 4, read_heads: 1, batch_size: 1 } };
      const evil = await postJson(`${server.url}/api/runs`, config, {
        'x-engram-token': 's3cret',
        origin: 'http://evil.example',
      });
      assert.equal(evil.status, 403);
      assert.equal(evil.body.ok ? 'ok' : evil.body.error.code, 'forbidden_origin');
      assert.equal(
        (await getJson(`${server.url}/api/runs`, { headers: { cookie: 'engram_token=s3cret' } })).status,
        200,
      );
      const page = await fetch(`${server.url}/?token=s3cret`);
      assert.match(page.headers.get('set-cookie') ?? '', /engram_token=s3cret; HttpOnly; SameSite=Strict/);
      assert.equal((await fetch(`${server.url}/`)).status, 401);
      await assert.rejects(server.client(), /unauthorized/);
      await assert.rejects(server.client({ token: 'wrong' }), /unauthorized/);
      const client = await server.client({ token: 's3cret' });
      assert.ok(Array.isArray(unwrap(await client.emitWithAck('run:list', {}))));
    } finally {
      await server.teardown();
    }
  });
});
