// Frame downloads stay bounded: JSON is streamed in pieces and refused above a size with a pointer to .npy, .npy is
// streamed, and a frame above the single-frame limit is neither stored nor streamed (and the listing says so).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ack, RunSummary } from './protocol';
import { getJson, postJson, startTestServer, unwrap, waitFor, type TestServer } from './testing/test-server';

const MB = 1024 * 1024;

interface FrameList {
  iterations: number[];
  oversize: { count: number; largestBytes: number; limitBytes: number } | null;
}

interface FrameJson {
  iteration: number;
  tensors: { name: string; shape: number[]; data: (number | null)[] }[];
}

function npyValues(bytes: Uint8Array): Float32Array {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const data = bytes.slice(10 + headerLength);
  return new Float32Array(data.buffer);
}

describe('frame downloads', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ frameBudget: { maxFrameBytes: 6 * MB } });
  });
  after(() => server.teardown());

  /** A synthetic run whose frames hold cells × 256 × 4 memory values; resolves once a frame is stored or dropped. */
  async function runWithFrames(cells: number): Promise<{ run: RunSummary; frames: FrameList }> {
    const config = { _trainer: 'synthetic', _frame_cells: cells, _frame_width: 256, _step_ms: 20, summarize_freq: 1 };
    const run = unwrap((await postJson(`${server.url}/api/runs`, { config })).body) as RunSummary;
    const frames = await waitFor('a frame stored or dropped', async () => {
      const list = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as FrameList;
      return list.iterations.length > 0 || list.oversize !== null ? list : null;
    });
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/stop`, {})).body);
    return { run, frames };
  }

  test('JSON is streamed and holds the same values as the .npy download', async () => {
    const { run, frames } = await runWithFrames(64);
    const base = `${server.url}/api/runs/${run.id}/frames/${frames.iterations[0]}`;
    const res = await fetch(base);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'streamed, not built whole');
    const body = (await res.json()) as Ack<FrameJson>;
    assert.ok(body.ok);
    const memory = body.data.tensors.find((t) => t.name === 'memory');
    assert.deepEqual(memory?.shape, [4, 64, 256]);
    const npy = await fetch(`${base}?format=npy&tensor=memory`);
    assert.equal(Number(npy.headers.get('content-length')), (await npy.clone().arrayBuffer()).byteLength);
    const values = npyValues(new Uint8Array(await npy.arrayBuffer()));
    assert.equal(values.length, 4 * 64 * 256);
    assert.deepEqual(memory?.data, Array.from(values));
    const iteration = body.data.tensors.find((t) => t.name === 'iteration');
    assert.deepEqual(iteration?.data, [body.data.iteration]);
  });

  test('a frame above the JSON limit is refused with a pointer to .npy, which still works', async () => {
    const { run, frames } = await runWithFrames(1024); // 1,048,576 memory values ≈ 4.2 MB
    assert.equal(frames.oversize, null);
    const base = `${server.url}/api/runs/${run.id}/frames/${frames.iterations[0]}`;
    const refused = await getJson(base);
    assert.equal(refused.status, 413);
    assert.ok(!refused.body.ok);
    assert.equal(refused.body.error.code, 'frame_too_large');
    assert.match(refused.body.error.message, /1052673 values, more than the 1000000/);
    assert.match(refused.body.error.message, /format=npy&tensor=memory/);
    assert.ok(refused.body.error.message.length < 400);
    const usageOnly = await getJson(`${base}?tensor=usage`);
    assert.equal(usageOnly.status, 200, 'one small tensor of a big frame is served as JSON');
    const npy = await fetch(`${base}?format=npy&tensor=memory`);
    assert.equal(npy.status, 200);
    assert.equal(npyValues(new Uint8Array(await npy.arrayBuffer())).length, 4 * 1024 * 256);
  });

  test('a frame above the single-frame limit is neither stored nor streamed, and the listing says so', async () => {
    const client = await server.client();
    const { run, frames } = await runWithFrames(2048); // ≈ 8.4 MB > 6 MB
    assert.deepEqual(frames.iterations, []);
    assert.ok(frames.oversize !== null && frames.oversize.count >= 1);
    assert.equal(frames.oversize.limitBytes, 6 * MB);
    assert.ok(frames.oversize.largestBytes > 8 * MB);
    let pushed = 0;
    client.on('memory:frame', () => pushed++);
    const snapshot = unwrap(await client.emitWithAck('run:subscribe', { runId: run.id }));
    assert.deepEqual(snapshot.frameIterations, []);
    assert.ok(snapshot.run.iteration >= 1, 'training went on');
    // The run is stopped: whatever the server would push after the ack has been pushed by the next round trip.
    unwrap(await client.emitWithAck('run:list', {}));
    assert.equal(pushed, 0);
  });
});
