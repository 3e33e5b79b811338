// Integration tests of the server factory: the real HTTP API, socket.io and training workers on an ephemeral port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint, RunSummary } from './protocol';
import { decodeFrame, type DecodedFrame } from './protocol/frames';
import { LIVE_FRAME_INTERVAL_MS } from './socket-api';
import {
  getJson,
  postJson,
  runOf,
  startTestServer,
  TINY_CONFIG,
  unwrap,
  waitFor,
  type TestServer,
} from './testing/test-server';

/** Contiguous 1-based iterations, in order, without duplicates. */
function assertContiguous(points: readonly MetricPoint[], from: number): void {
  points.forEach((p, i) =>
    assert.equal(p.iteration, from + i, `metric ${i} should be iteration ${from + i}, got ${p.iteration}`),
  );
}

describe('a run through its lifecycle (real engine, tiny config)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.teardown());

  test('create → metrics and frames arrive → pause holds → step 3 is exactly 3 → resume → stop', async () => {
    const client = await server.client();
    const points: MetricPoint[] = [];
    const frames: DecodedFrame[] = [];
    client.on('metrics:batch', (batch) => points.push(...batch.points));
    client.on('memory:frame', (frame) => {
      frames.push(decodeFrame(frame));
      client.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
    });

    const run = unwrap(await client.emitWithAck('run:create', { config: { ...TINY_CONFIG }, name: 'lifecycle' }));
    assert.equal(run.state, 'running');
    assert.equal(run.name, 'lifecycle');
    assert.equal(run.config.mem_slot, 8);
    assert.equal(run.config.optim, 'adam', 'omitted fields take defaults');
    const snapshot = unwrap(await client.emitWithAck('run:subscribe', { runId: run.id }));
    const history = [...snapshot.metrics];

    await waitFor(
      'three metric points and two frames',
      () => history.length + points.length >= 3 && frames.length >= 2,
      60_000,
    );
    assertContiguous([...history, ...points], 1);
    const frame = frames[frames.length - 1];
    assert.equal(frame.runId, run.id);
    assert.ok(frame.tensors.length > 0);
    for (const t of frame.tensors) {
      assert.equal(t.axes.length, t.shape.length, `${t.name} labels every axis`);
      assert.equal(
        t.data.length,
        t.shape.reduce((a, b) => a * b, 1),
        `${t.name} data matches its shape`,
      );
    }

    const paused = unwrap(await client.emitWithAck('training:pause', { runId: run.id }));
    assert.equal(paused.state, 'paused');
    // The worker reported the backend it computes on (the tests pin cpu): the run page shows it.
    assert.deepEqual(paused.engine, { backend: 'cpu' });
    const at = paused.iteration;
    await waitFor('metrics up to the pause', () => [...history, ...points].at(-1)?.iteration === at);
    // Only the passage of time shows that nothing advances; 300 ms is many iterations of this config.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await runOf(server.url, run.id)).iteration, at);
    assert.equal([...history, ...points].at(-1)?.iteration, at);

    const stepping = unwrap(await client.emitWithAck('training:step', { runId: run.id, n: 3 }));
    assert.equal(stepping.state, 'running');
    const afterStep = await waitFor('paused after 3 steps', async () => {
      const r = await runOf(server.url, run.id);
      return r.state === 'paused' ? r : null;
    });
    assert.equal(afterStep.iteration, at + 3);
    await waitFor('the stepped metrics', () => [...history, ...points].at(-1)?.iteration === at + 3);
    assertContiguous([...history, ...points], 1);
    const stored = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as { iterations: number[] };
    for (const it of [at + 1, at + 2, at + 3])
      assert.ok(stored.iterations.includes(it), `stepped iteration ${it} has a stored frame`);
    await waitFor('the last stepped frame', () => frames.some((f) => f.iteration === at + 3));

    const resumed = unwrap(await client.emitWithAck('training:resume', { runId: run.id }));
    assert.equal(resumed.state, 'running');
    await waitFor('training goes on', async () => (await runOf(server.url, run.id)).iteration > at + 3);

    const stopped = unwrap(await client.emitWithAck('training:stop', { runId: run.id }));
    assert.equal(stopped.state, 'stopped');
    // A stopped run has no worker to pause (resume would start a new one from its checkpoint: server/stop.test.ts).
    const again = await client.emitWithAck('training:pause', { runId: run.id });
    assert.equal(again.ok, false);
    if (!again.ok) assert.equal(again.error.code, 'invalid_state');

    const metrics = unwrap(
      (await getJson(`${server.url}/api/runs/${run.id}/metrics?since=${at}`)).body,
    ) as MetricPoint[];
    assert.equal(metrics[0].iteration, at + 1);
    assertContiguous(metrics, at + 1);
  });

  test('HTTP controls mirror the socket commands', async () => {
    const created = await postJson(`${server.url}/api/runs`, { config: { ...TINY_CONFIG, summarize_freq: 1000 } });
    assert.equal(created.status, 201);
    const run = unwrap(created.body) as RunSummary;
    const paused = unwrap((await postJson(`${server.url}/api/runs/${run.id}/pause`, {})).body) as RunSummary;
    assert.equal(paused.state, 'paused');
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/step`, { n: 2 })).body);
    const stepped = await waitFor('two HTTP steps', async () => {
      const r = await runOf(server.url, run.id);
      return r.state === 'paused' ? r : null;
    });
    assert.equal(stepped.iteration, paused.iteration + 2);
    const configured = unwrap(
      (await postJson(`${server.url}/api/runs/${run.id}/configure`, { lr: 0.01, summarize_freq: 5 })).body,
    ) as RunSummary;
    assert.equal(configured.config.lr, 0.01);
    assert.equal(configured.config.summarize_freq, 5);
    const list = unwrap((await getJson(`${server.url}/api/runs`)).body) as RunSummary[];
    assert.ok(list.some((r) => r.id === run.id));
    assert.equal(
      (unwrap((await postJson(`${server.url}/api/runs/${run.id}/stop`, {})).body) as RunSummary).state,
      'stopped',
    );
  });
});

describe('frame streaming (synthetic source)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.teardown());

  test('a stalled client never slows training and gets only the newest frame when it acks', async () => {
    const run = unwrap(
      await (await server.client()).emitWithAck('run:create', {
        config: { _trainer: 'synthetic', summarize_freq: 1, _step_ms: 1 },
      }),
    );
    const stalled = await server.client();
    const frames: DecodedFrame[] = [];
    let lastMetric = 0;
    stalled.on('memory:frame', (frame) => frames.push(decodeFrame(frame)));
    stalled.on('metrics:batch', (batch) => (lastMetric = batch.points[batch.points.length - 1].iteration));
    unwrap(await stalled.emitWithAck('run:subscribe', { runId: run.id }));
    const first = await waitFor('the first frame', () => frames[0]);
    // Every iteration captures a frame; 200 of them pass while this client holds its first one.
    await waitFor('200 more iterations reported to the stalled client', () => lastMetric >= first.iteration + 200);
    assert.equal(frames.length, 1, 'no frame is pushed before the ack');
    // The newest frame the server has seen (periodic frames may be skipped under load, so not simply the iteration).
    const stored = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as { iterations: number[] };
    const newestBeforeAck = stored.iterations[stored.iterations.length - 1];
    assert.ok(newestBeforeAck > first.iteration + 100);
    stalled.emit('frame:ack', { runId: run.id, iteration: first.iteration });
    await waitFor('the next frame after the ack', () => frames.length === 2);
    assert.ok(
      frames[1].iteration >= newestBeforeAck,
      `got frame ${frames[1].iteration}, newest was ≥ ${newestBeforeAck}`,
    );
    const iterationValue = frames[1].tensors.find((t) => t.name === 'iteration');
    assert.equal(iterationValue?.data[0], frames[1].iteration, 'the bytes are the frame they claim to be');
    unwrap(await stalled.emitWithAck('training:stop', { runId: run.id }));
  });

  test('live frames reach a fast client at most every 33 ms, the newest one last', async () => {
    const client = await server.client();
    const received: number[] = [];
    client.on('memory:frame', (frame) => {
      received.push(frame.iteration);
      client.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
    });
    const run = unwrap(
      await client.emitWithAck('run:create', { config: { _trainer: 'synthetic', summarize_freq: 1, _step_ms: 1 } }),
    );
    const started = performance.now();
    unwrap(await client.emitWithAck('run:subscribe', { runId: run.id }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const count = received.length;
    const elapsed = performance.now() - started;
    const stopped = unwrap(await client.emitWithAck('training:stop', { runId: run.id }));
    assert.ok(count >= 5, `only ${count} frames in ${elapsed} ms`);
    assert.ok(count <= elapsed / LIVE_FRAME_INTERVAL_MS + 1, `${count} frames in ${elapsed.toFixed(0)} ms`);
    assert.ok(stopped.iteration > 3 * count, `the trainer made ${stopped.iteration} frames, ${count} were sent`);
    const stored = unwrap(await client.emitWithAck('run:subscribe', { runId: run.id })).frameIterations;
    await waitFor('the newest frame', () => received.at(-1) === stored.at(-1));
  });

  test('a late joiner gets the metric history in the ack and the newest frame at once', async () => {
    const client = await server.client();
    const run = unwrap(
      await client.emitWithAck('run:create', {
        config: { _trainer: 'synthetic', summarize_freq: 1, iterations: 20, _step_ms: 2 },
      }),
    );
    await waitFor('the run to finish', async () => (await runOf(server.url, run.id)).state === 'finished');
    const late = await server.client();
    const frames: DecodedFrame[] = [];
    late.on('memory:frame', (frame) => frames.push(decodeFrame(frame)));
    const snapshot = unwrap(await late.emitWithAck('run:subscribe', { runId: run.id }));
    assert.equal(snapshot.run.state, 'finished');
    assertContiguous(snapshot.metrics, 1);
    assert.equal(snapshot.metrics.length, 20);
    // Periodic frames may be skipped when the main thread falls behind, so only their order is certain.
    assert.ok(snapshot.frameIterations.length > 0);
    assert.deepEqual(
      [...snapshot.frameIterations].sort((a, b) => a - b),
      snapshot.frameIterations,
    );
    const newest = snapshot.frameIterations[snapshot.frameIterations.length - 1];
    await waitFor('the newest frame', () => frames.length === 1);
    assert.equal(frames[0].iteration, newest);
    const tensorUrl = `${server.url}/api/runs/${run.id}/frames/${newest}?tensor=memory`;
    const json = unwrap((await getJson(tensorUrl)).body) as {
      tensors: { shape: number[]; axes: string[]; data: number[] }[];
    };
    assert.deepEqual(json.tensors[0].axes, ['time', 'cell', 'word']);
    const npy = Buffer.from(await (await fetch(`${tensorUrl}&format=npy`)).arrayBuffer());
    const headerLength = npy.readUInt16LE(8);
    assert.match(
      npy.subarray(10, 10 + headerLength).toString('latin1'),
      new RegExp(`'shape': \\(${json.tensors[0].shape.join(', ')}\\)`),
    );
    const values = new Float32Array((npy.length - 10 - headerLength) >> 2);
    new Uint8Array(values.buffer).set(npy.subarray(10 + headerLength));
    assert.deepEqual(Array.from(values), json.tensors[0].data);
    const stored = unwrap(
      await late.emitWithAck('frame:get', { runId: run.id, iteration: snapshot.frameIterations[0] }),
    );
    assert.equal(decodeFrame(stored).tensors.find((t) => t.name === 'iteration')?.data[0], snapshot.frameIterations[0]);
  });

  test('configure and capture change when frames come', async () => {
    const client = await server.client();
    const frames: DecodedFrame[] = [];
    client.on('memory:frame', (frame) => {
      frames.push(decodeFrame(frame));
      client.emit('frame:ack', { runId: frame.runId, iteration: frame.iteration });
    });
    const run = unwrap(
      await client.emitWithAck('run:create', {
        config: { _trainer: 'synthetic', summarize_freq: 1_000_000, _step_ms: 2 },
      }),
    );
    unwrap(await client.emitWithAck('run:subscribe', { runId: run.id }));
    unwrap(await client.emitWithAck('frame:capture', { runId: run.id }));
    await waitFor('the captured frame', () => frames.length >= 1);
    const configured = unwrap(
      await client.emitWithAck('training:configure', { runId: run.id, summarize_freq: 2, lr: 0.5 }),
    );
    assert.equal(configured.config.summarize_freq, 2);
    await waitFor('frames at the new frequency', () => frames.filter((f) => f.iteration % 2 === 0).length >= 3);
    unwrap(await client.emitWithAck('training:stop', { runId: run.id }));
  });
});
