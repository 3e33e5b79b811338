// External runs on the real server: create, stream metrics and binary frames over HTTP and socket.io, every
// malformed frame answered with its typed error, controls that reach the client exactly, liveness, and a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { encodeNpy } from './protocol/npy';
import type { Ack, MetricPoint, RunSummary } from './protocol';
import {
  FRAME_HEADER_HEADER,
  MAX_INGEST_FRAME_BYTES,
  type IngestFrameHeader,
  type IngestReply,
  type WaitReply,
} from './protocol/ingest';
import { Storage } from './storage';
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

/** The HTTP frame body: u32 LE header length, the JSON header, then the tensors' bytes. */
function frameBody(header: unknown, ...buffers: Uint8Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  return Buffer.concat([length, json, ...buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))]);
}

const bytesOf = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

async function postBinary(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Ack<unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) as unknown as BodyInit,
  });
  return { status: res.status, body: (await res.json()) as Ack<unknown> };
}

async function createExternal(server: TestServer, extra: Record<string, unknown> = {}): Promise<RunSummary> {
  const { status, body } = await postJson(`${server.url}/api/runs`, {
    external: true,
    name: 'ext',
    config: { model: 'dnc', nhid: 64 },
    ...extra,
  });
  assert.equal(status, 201);
  return unwrap(body) as RunSummary;
}

async function storedFrame(server: TestServer, runId: string, iteration: number) {
  const { body } = await getJson(`${server.url}/api/runs/${runId}/frames/${iteration}`);
  return unwrap(body) as {
    timesteps: number;
    tensors: { name: string; shape: number[]; axes: string[]; data: (number | null)[]; nonFinite?: unknown }[];
  };
}

const wait = (server: TestServer, runId: string, timeoutMs = 5000) =>
  postJson(`${server.url}/api/runs/${runId}/wait`, { timeout_ms: timeoutMs }).then((r) => unwrap(r.body) as WaitReply);

describe('external runs over HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ clientTimeoutMs: 400 });
  });
  after(() => server.teardown());

  test('metrics with named scalars become curves; frames of every dtype are stored as float32', async () => {
    const run = await createExternal(server);
    assert.equal(run.source, 'external');
    assert.equal(run.state, 'running');
    assert.deepEqual(run.client?.controls, ['pause', 'step', 'stop', 'lr']);
    assert.equal(run.client?.connected, true);
    assert.equal(run.config.model, 'dnc');

    const reply = await postJson(`${server.url}/api/runs/${run.id}/metrics`, {
      points: [
        { iteration: 1, loss: 0.9, accuracy: 0.1, t: 1000 },
        { iteration: 2, loss: 0.8, accuracy: 'NaN', grad_norm: 3, t: 2000 },
      ],
    });
    assert.equal(reply.status, 200);
    assert.deepEqual((unwrap(reply.body) as IngestReply).control, { action: 'run', state: 'running', lr: null });
    const points = unwrap((await getJson(`${server.url}/api/runs/${run.id}/metrics`)).body) as MetricPoint[];
    assert.deepEqual(
      points.map((p) => [p.iteration, p.loss, p.scalars]),
      [
        [1, 0.9, { accuracy: 0.1 }],
        [2, 0.8, { accuracy: null, grad_norm: 3 }], // JSON answers NaN as null
      ],
    );
    assert.equal(points[1].itPerSec, 1, 'one iteration per second of client time');
    assert.equal((await runOf(server.url, run.id)).iteration, 2);

    // One frame with every dtype, raw and .npy, and non-finite values kept and counted.
    const f64 = Float64Array.of(0.5, Number.NaN, Number.POSITIVE_INFINITY, -1.25, Number.NEGATIVE_INFINITY, 2);
    const f16 = Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x3555); // 1, -2, +Inf, ≈0.333
    const u8 = Uint8Array.of(0, 255, 7);
    const i32 = Int32Array.of(-3, 70000);
    const npy = encodeNpy(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const header: IngestFrameHeader = {
      iteration: 2,
      tensors: [
        { name: 'memory', shape: [2, 3], axes: ['time', 'cell'], dtype: 'float64' },
        { name: 'half', shape: [4], dtype: 'float16' },
        { name: 'bytes', shape: [3], dtype: 'uint8', range: [0, 255] },
        { name: 'ints', shape: [1, 2], dtype: 'int32', layer: 1 },
        { name: 'fromnpy', format: 'npy', axes: ['row', 'col'] },
      ],
    };
    const posted = await postBinary(
      `${server.url}/api/runs/${run.id}/frames`,
      frameBody(header, bytesOf(f64), bytesOf(f16), u8, bytesOf(i32), npy),
    );
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const frame = await storedFrame(server, run.id, 2);
    assert.equal(frame.timesteps, 2, 'a leading time axis gives the timestep count');
    const byName = Object.fromEntries(frame.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.memory.data, [0.5, null, null, -1.25, null, 2]); // JSON has no NaN/Inf
    assert.deepEqual(byName.memory.nonFinite, { nan: 1, posInf: 1, negInf: 1 });
    assert.deepEqual(byName.memory.axes, ['time', 'cell']);
    assert.deepEqual(byName.half.data.slice(0, 2), [1, -2]);
    assert.ok(Math.abs((byName.half.data[3] as number) - 1 / 3) < 1e-3);
    assert.deepEqual(byName.half.nonFinite, { nan: 0, posInf: 1, negInf: 0 });
    assert.deepEqual(byName.bytes.data, [0, 255, 7]);
    assert.deepEqual(byName.ints.data, [-3, 70000]);
    assert.deepEqual(byName.ints.axes, ['dim0', 'dim1']);
    assert.deepEqual(byName.fromnpy.shape, [2, 3]);
    assert.deepEqual(byName.fromnpy.data, [1, 2, 3, 4, 5, 6]);
    assert.equal(byName.fromnpy.nonFinite, undefined);

    // The .npy download of an ingested tensor is what was sent, as float32.
    const npyRes = await fetch(`${server.url}/api/runs/${run.id}/frames/2?format=npy&tensor=memory`);
    const npyBytes = new Uint8Array(await npyRes.arrayBuffer());
    const values = new Float32Array(npyBytes.slice(npyBytes.length - 24).buffer);
    assert.equal(values[0], 0.5);
    assert.ok(Number.isNaN(values[1]));
    assert.equal(values[2], Number.POSITIVE_INFINITY);

    // The header may come in an HTTP header instead, with only the bytes as the body (curl-friendly).
    const viaHeader = await postBinary(`${server.url}/api/runs/${run.id}/frames`, bytesOf(Float32Array.of(7, 8)), {
      [FRAME_HEADER_HEADER]: JSON.stringify({ iteration: 3, tensors: [{ name: 'usage', shape: [2] }] }),
    });
    assert.equal(viaHeader.status, 200);
    assert.deepEqual((await storedFrame(server, run.id, 3)).tensors[0].data, [7, 8]);
  });

  test('every malformed frame gets a typed error naming the tensor and the field; the run goes on', async () => {
    const run = await createExternal(server);
    const url = `${server.url}/api/runs/${run.id}/frames`;
    const four = bytesOf(Float32Array.of(1, 2, 3, 4));
    const cases: [string, Buffer, string, string | undefined, string, number?][] = [
      [
        'unknown dtype',
        frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [4], dtype: 'bfloat16' }] }, four),
        'bad_request',
        'm',
        'dtype',
      ],
      [
        'bad shape',
        frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [2, -2] }] }, four),
        'bad_request',
        'm',
        'shape',
      ],
      [
        'buffer too short',
        frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [5] }] }, four),
        'bad_request',
        'm',
        'data',
      ],
      [
        'bytes left over',
        frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [3] }] }, four),
        'bad_request',
        undefined,
        'data',
      ],
      [
        'axes of the wrong rank',
        frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [4], axes: ['a', 'b'] }] }, four),
        'bad_request',
        'm',
        'axes',
      ],
      ['missing shape', frameBody({ iteration: 1, tensors: [{ name: 'm' }] }, four), 'bad_request', 'm', 'shape'],
      [
        'bad iteration',
        frameBody({ iteration: -1, tensors: [{ name: 'm', shape: [4] }] }, four),
        'bad_request',
        undefined,
        'iteration',
      ],
      [
        'not an npy blob',
        frameBody({ iteration: 1, tensors: [{ name: 'n', format: 'npy' }] }, four),
        'bad_request',
        'n',
        'data',
      ],
      [
        'duplicate name',
        frameBody(
          {
            iteration: 1,
            tensors: [
              { name: 'm', shape: [2] },
              { name: 'm', shape: [2] },
            ],
          },
          four,
        ),
        'bad_request',
        'm',
        'name',
      ],
      [
        'over the frame limit',
        frameBody({ iteration: 1, tensors: [{ name: 'big', shape: [MAX_INGEST_FRAME_BYTES / 4 + 1] }] }),
        'payload_too_large',
        'big',
        'shape',
        413,
      ],
      ['header length past the body', Buffer.from([255, 255, 0, 0, 1]), 'bad_request', undefined, 'header'],
      [
        'header not JSON',
        Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('{x')]),
        'bad_request',
        undefined,
        'header',
      ],
    ];
    for (const [label, body, code, tensor, field, status] of cases) {
      const res = await postBinary(url, body);
      assert.equal(res.status, status ?? 400, label);
      assert.equal(res.body.ok, false, label);
      if (res.body.ok) continue;
      assert.equal(res.body.error.code, code, `${label}: ${res.body.error.message}`);
      assert.equal(res.body.error.details?.tensor, tensor, `${label}: tensor`);
      assert.equal(res.body.error.details?.field, field, `${label}: field`);
    }
    const fortran = Buffer.from(
      Buffer.from(encodeNpy(Float32Array.of(1, 2), [2]))
        .toString('latin1')
        .replace('False', 'True '),
      'latin1',
    );
    const res = await postBinary(url, frameBody({ iteration: 1, tensors: [{ name: 'f', format: 'npy' }] }, fortran));
    assert.equal(res.body.ok ? null : res.body.error.details?.field, 'fortran_order');

    const badPoint = await postJson(`${server.url}/api/runs/${run.id}/metrics`, {
      points: [{ iteration: 1, acc: 'x' }],
    });
    assert.equal(badPoint.status, 400);
    assert.deepEqual(badPoint.body.ok ? null : badPoint.body.error.details, { tensor: 'acc', field: 'value' });

    // Nothing was stored, and a good frame still goes in.
    assert.deepEqual(unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body), {
      iterations: [],
      oversize: null,
    });
    assert.equal(
      (await postBinary(url, frameBody({ iteration: 1, tensors: [{ name: 'm', shape: [4] }] }, four))).status,
      200,
    );
    assert.equal((await runOf(server.url, run.id)).state, 'running');
  });

  test('engine runs take no ingest; unknown runs are not found', async () => {
    const engine = unwrap(
      (await postJson(`${server.url}/api/runs`, { config: { _trainer: 'synthetic', _step_ms: 5 } })).body,
    ) as RunSummary;
    const res = await postJson(`${server.url}/api/runs/${engine.id}/metrics`, { points: [{ iteration: 1 }] });
    assert.equal(res.status, 409);
    assert.equal((await postJson(`${server.url}/api/runs/nope/heartbeat`, {})).status, 404);
    unwrap((await postJson(`${server.url}/api/runs/${engine.id}/stop`, {})).body);
  });

  test('pause blocks the wait, step 3 grants exactly 3, resume runs, lr reaches the client, stop ends', async () => {
    const run = await createExternal(server);
    assert.equal((await wait(server, run.id)).go, true, 'a running run goes at once');
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/pause`, {})).body);
    const paused = await wait(server, run.id, 100);
    assert.deepEqual(paused, { go: false, control: { action: 'wait', state: 'paused', lr: null } });

    const blocked = wait(server, run.id);
    await waitFor('the client to be shown waiting', async () => (await runOf(server.url, run.id)).client?.waiting);
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/step`, { n: 3 })).body);
    assert.equal((await blocked).go, true, 'the blocked wait is released by the step');
    assert.equal((await wait(server, run.id)).go, true);
    assert.equal((await wait(server, run.id)).go, true);
    assert.equal((await runOf(server.url, run.id)).state, 'running', 'running while the step lasts');
    const fourth = await wait(server, run.id, 150);
    assert.equal(fourth.go, false, 'exactly three iterations were granted');
    assert.equal((await runOf(server.url, run.id)).state, 'paused', 'the step is over once the client waits again');

    unwrap((await postJson(`${server.url}/api/runs/${run.id}/configure`, { lr: 0.003 })).body);
    const resumedWait = wait(server, run.id);
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/resume`, {})).body);
    assert.deepEqual(await resumedWait, { go: true, control: { action: 'run', state: 'running', lr: 0.003 } });
    assert.equal((await runOf(server.url, run.id)).config.lr, 0.003);

    unwrap((await postJson(`${server.url}/api/runs/${run.id}/stop`, {})).body);
    assert.deepEqual(await wait(server, run.id), {
      go: false,
      control: { action: 'stop', state: 'stopped', lr: 0.003 },
    });
  });

  test('a client that honours no controls cannot be paused, and says so', async () => {
    const run = await createExternal(server, { controls: [] });
    const res = await postJson(`${server.url}/api/runs/${run.id}/pause`, {});
    assert.equal(res.status, 409);
    assert.match(res.body.ok ? '' : res.body.error.message, /does not honour pause/);
    assert.equal((await postJson(`${server.url}/api/runs/${run.id}/capture`, {})).status, 409);
  });

  test('a silent client leaves the run interrupted; its next call continues it; close finishes', async () => {
    const run = await createExternal(server);
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/metrics`, { points: [{ iteration: 1, loss: 1 }] })).body);
    const gone = await waitFor('the run to be interrupted', async () => {
      const r = await runOf(server.url, run.id);
      return r.state === 'interrupted' ? r : null;
    });
    assert.equal(gone.client?.connected, false);
    assert.equal(gone.iteration, 1);
    const step = await postJson(`${server.url}/api/runs/${run.id}/step`, { n: 1 });
    assert.match(step.body.ok ? '' : step.body.error.message, /not connected/);

    const back = unwrap((await postJson(`${server.url}/api/runs/${run.id}/heartbeat`, {})).body) as IngestReply;
    assert.equal(back.control.action, 'run');
    const again = await runOf(server.url, run.id);
    assert.equal(again.state, 'running');
    assert.equal(again.client?.connected, true);
    const closed = unwrap((await postJson(`${server.url}/api/runs/${run.id}/close`, {})).body) as RunSummary;
    assert.equal(closed.state, 'finished');
    const late = await postJson(`${server.url}/api/runs/${run.id}/metrics`, { points: [{ iteration: 2 }] });
    assert.equal(late.status, 409, 'a finished run takes no more data');
  });
});

describe('external runs over socket.io', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ clientTimeoutMs: 300 });
  });
  after(() => server.teardown());

  test('attach, stream, receive pushed controls; a dropped socket leaves the run interrupted', async () => {
    const trainer = await server.client();
    const viewer = await server.client();
    const run = unwrap(
      await trainer.emitWithAck('run:create', { external: true, name: 'sock', controls: ['pause', 'step'] }),
    );
    const controls: string[] = [];
    trainer.on('training:control', (c) => controls.push(`${c.action}:${c.state}`));
    unwrap(await trainer.emitWithAck('ingest:attach', { runId: run.id }));
    unwrap(await viewer.emitWithAck('run:subscribe', { runId: run.id }));
    const frames: number[] = [];
    viewer.on('memory:frame', (f) => {
      frames.push(f.iteration);
      viewer.emit('frame:ack', { runId: f.runId, iteration: f.iteration });
    });

    unwrap(
      await trainer.emitWithAck('ingest:metrics', { runId: run.id, points: [{ iteration: 1, loss: 0.5, acc: 0.25 }] }),
    );
    const header = { iteration: 1, tensors: [{ name: 'memory', shape: [2, 2], axes: ['cell', 'word'] }] };
    unwrap(
      await trainer.emitWithAck('ingest:frame', { runId: run.id, header, data: bytesOf(Float32Array.of(1, 2, 3, 4)) }),
    );
    await waitFor('the viewer to get the frame', () => frames.includes(1));
    const bad = await trainer.emitWithAck('ingest:frame', {
      runId: run.id,
      header: { ...header, tensors: [{ name: 'memory', shape: [3] }] },
      data: bytesOf(Float32Array.of(1)),
    });
    assert.deepEqual(bad.ok ? null : bad.error.details, { tensor: 'memory', field: 'data' });

    unwrap(await viewer.emitWithAck('training:pause', { runId: run.id }));
    await waitFor('the pause pushed to the trainer', () => controls.includes('wait:paused'));
    const waiting = trainer.emitWithAck('ingest:wait', { runId: run.id, timeoutMs: 5000 });
    await waitFor('the trainer to wait', async () => (await runOf(server.url, run.id)).client?.waiting);
    unwrap(await viewer.emitWithAck('training:step', { runId: run.id, n: 1 }));
    assert.equal(unwrap(await waiting).go, true);
    const stop = await viewer.emitWithAck('training:configure', { runId: run.id, lr: 0.1 });
    assert.match(stop.ok ? '' : stop.error.message, /does not honour lr/);

    // Attached and silent is still connected; a socket that goes away leaves the run interrupted.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await runOf(server.url, run.id)).client?.connected, true);
    trainer.disconnect();
    await waitFor('the run to be interrupted', async () => (await runOf(server.url, run.id)).state === 'interrupted');
  });
});

test('restart mid-stream: history intact, the run comes back interrupted and the client continues it', async () => {
  const dataDir = tempDataDir('ingest-restart');
  let server = await startTestServer({ dataDir });
  const run = await createExternal(server);
  const points = Array.from({ length: 5 }, (_, i) => ({ iteration: i + 1, loss: 1 / (i + 1) }));
  unwrap((await postJson(`${server.url}/api/runs/${run.id}/metrics`, { points })).body);
  unwrap(
    (
      await postBinary(
        `${server.url}/api/runs/${run.id}/frames`,
        frameBody({ iteration: 5, tensors: [{ name: 'm', shape: [1] }] }, bytesOf(Float32Array.of(5))),
      )
    ).body,
  );
  await server.teardown({ keepData: true });

  server = await startTestServer({ dataDir });
  try {
    const restored = await runOf(server.url, run.id);
    assert.equal(restored.state, 'interrupted');
    assert.equal(restored.client?.connected, false);
    assert.deepEqual(restored.client?.controls, ['pause', 'step', 'stop', 'lr']);
    const more = [{ iteration: 6, loss: 0.1, extra: 1 }];
    const reply = unwrap(
      (await postJson(`${server.url}/api/runs/${run.id}/metrics`, { points: more })).body,
    ) as IngestReply;
    assert.equal(reply.control.action, 'run');
    const history = unwrap((await getJson(`${server.url}/api/runs/${run.id}/metrics`)).body) as MetricPoint[];
    assert.deepEqual(
      history.map((p) => p.iteration),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual((await storedFrame(server, run.id, 5)).tensors[0].data, [5]);
    assert.equal((await runOf(server.url, run.id)).state, 'running');
  } finally {
    await server.teardown();
  }
});

test('a database from before external runs is migrated in place', () => {
  const dataDir = tempDataDir('migrate');
  const old = new Database(join(dataDir, 'engram.sqlite'));
  old.exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, iteration INTEGER NOT NULL,
    config TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, loss REAL, metric REAL,
    metric_name TEXT NOT NULL, it_per_sec REAL, failure TEXT, hooks TEXT NOT NULL);
    CREATE TABLE metrics (run_id TEXT NOT NULL, iteration INTEGER NOT NULL, loss REAL, metric REAL, it_per_sec REAL,
    t INTEGER NOT NULL, sequence_length INTEGER, PRIMARY KEY (run_id, iteration)) WITHOUT ROWID;
    INSERT INTO runs VALUES ('r1', 'old', 'finished', 3, '{"task":"copy"}', 1, 2, 0.5, 0.1, 'ber', null, null, '{}');
    INSERT INTO metrics VALUES ('r1', 3, 0.5, 0.1, 10, 5, 4);`);
  old.close();
  const storage = new Storage(dataDir, { maxFrames: 10, maxBytes: 1e6, maxFrameBytes: 1e6 });
  try {
    const [run] = storage.allRuns();
    assert.equal(run.source, 'engine');
    assert.equal(run.client, null);
    assert.equal(storage.metricsPage('r1', 0, Number.MAX_SAFE_INTEGER, 100)[0].scalars, undefined);
    storage.appendMetrics(
      'r1',
      [{ iteration: 4, loss: 1, metric: 0, itPerSec: 1, t: 6, scalars: { x: -Infinity } }],
      null,
    );
    assert.deepEqual(storage.metricsPage('r1', 3, Number.MAX_SAFE_INTEGER, 100)[0].scalars, {
      x: Number.NEGATIVE_INFINITY,
    });
  } finally {
    storage.close();
  }
});
