// Durability: the server process is SIGKILLed mid-training and restarted on the same data dir; runs and their
// history are intact and the interrupted run resumes from its last checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import type { MetricPoint, RunSummary } from './protocol';
import { socketParser } from './protocol/transport';
import {
  TEST_WORKER_ENV,
  getJson,
  postJson,
  runOf,
  startTestServer,
  tempDataDir,
  TINY_CONFIG,
  unwrap,
  waitFor,
  type TestClient,
} from './testing/test-server';

const root = join(__dirname, '..');

/** Start `server/main.ts` as a child (API only) and resolve with its URL from the console line. */
function spawnServer(dataDir: string, checkpointMs = 300): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/main.ts', '--port', '0', '--data-dir', dataDir, '--no-next'],
    {
      cwd: root,
      env: { ...process.env, ...TEST_WORKER_ENV, ENGRAM_CHECKPOINT_MS: String(checkpointMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/open (http:\/\/[^\s/]+)/);
      if (match !== null) resolve({ child, url: match[1] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

test('kill -9, restart on the same data dir: runs and history intact, the interrupted run resumes', async () => {
  const dataDir = tempDataDir('restart');
  const { child, url } = await spawnServer(dataDir);
  let killed = false;
  try {
    const training = unwrap(
      (await postJson(`${url}/api/runs`, { config: { ...TINY_CONFIG, summarize_freq: 2 }, name: 'killed' })).body,
    ) as RunSummary;
    const held = unwrap(
      (await postJson(`${url}/api/runs`, { config: { ...TINY_CONFIG, summarize_freq: 1000 }, name: 'held' })).body,
    ) as RunSummary;
    unwrap((await postJson(`${url}/api/runs/${held.id}/pause`, {})).body);
    // Reading metrics flushes them to the database, so at least 10 points are on disk when the kill comes.
    await waitFor(
      'some training before the kill',
      async () => {
        const points = unwrap((await getJson(`${url}/api/runs/${training.id}/metrics`)).body) as MetricPoint[];
        return points.length >= 10;
      },
      60_000,
    );
    child.kill('SIGKILL');
    killed = true;
    await new Promise((resolve) => child.once('exit', resolve));
  } finally {
    if (!killed) child.kill('SIGKILL');
  }

  const server = await startTestServer({ dataDir });
  try {
    const runs = unwrap((await getJson(`${server.url}/api/runs`)).body) as RunSummary[];
    const killedRun = runs.find((r) => r.name === 'killed');
    const heldRun = runs.find((r) => r.name === 'held');
    assert.ok(killedRun !== undefined && heldRun !== undefined);
    assert.equal(killedRun.state, 'interrupted');
    assert.equal(heldRun.state, 'paused');
    const history = unwrap((await getJson(`${server.url}/api/runs/${killedRun.id}/metrics`)).body) as MetricPoint[];
    assert.ok(history.length >= 10, `history has ${history.length} points`);
    history.forEach((p, i) => assert.equal(p.iteration, i + 1));
    assert.equal(killedRun.iteration, history.length, 'the stored iteration is written with the metrics it counts');
    const frames = unwrap((await getJson(`${server.url}/api/runs/${killedRun.id}/frames`)).body) as {
      iterations: number[];
    };
    assert.ok(frames.iterations.length > 0 && frames.iterations.every((it) => it % 2 === 0));

    const client = await server.client();
    const resumed = unwrap(await client.emitWithAck('training:resume', { runId: killedRun.id }));
    assert.equal(resumed.state, 'running');
    assert.ok(resumed.iteration <= history.length, 'rolled back to the checkpoint, not past the history');
    const target = history.length + 3;
    await waitFor(
      'training past the kill point',
      async () => (await runOf(server.url, killedRun.id)).iteration >= target,
      60_000,
    );
    unwrap(await client.emitWithAck('training:pause', { runId: killedRun.id }));
    const after = unwrap((await getJson(`${server.url}/api/runs/${killedRun.id}/metrics`)).body) as MetricPoint[];
    after.forEach((p, i) => assert.equal(p.iteration, i + 1, 'one point per iteration, no gaps or duplicates'));

    const stepped = unwrap(await client.emitWithAck('training:step', { runId: heldRun.id, n: 1 }));
    assert.equal(stepped.state, 'running');
    await waitFor(
      'the held run to step once',
      async () => {
        const r = await runOf(server.url, heldRun.id);
        return r.state === 'paused' && r.iteration === heldRun.iteration + 1;
      },
      60_000,
    );
  } finally {
    await server.teardown();
  }
});

test('kill -9 with checkpoints every 100 ms, twice: the checkpoint is never ahead of the stored metrics', async () => {
  // A checkpoint written before the metrics it follows (they are batched) would leave a gap on resume: the run
  // rolls back to the checkpoint and goes on after it, so iterations between the stored metrics and it are lost.
  const dataDir = tempDataDir('kill-checkpoint');
  let runId: string | null = null;
  for (let round = 0; round < 2; round++) {
    const { child, url } = await spawnServer(dataDir, 100);
    try {
      if (runId === null) {
        const run = unwrap((await postJson(`${url}/api/runs`, { config: TINY_CONFIG, name: 'ck' })).body) as RunSummary;
        runId = run.id;
      } else {
        unwrap((await postJson(`${url}/api/runs/${runId}/resume`, {})).body);
      }
      const id = runId;
      const start = (await runOf(url, id)).iteration;
      // Training with checkpoints and metric flushes interleaving; the run summary read here does not flush.
      await waitFor('training before the kill', async () => (await runOf(url, id)).iteration >= start + 60, 60_000);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  const server = await startTestServer({ dataDir });
  try {
    const id = runId as string;
    const stored = unwrap((await getJson(`${server.url}/api/runs/${id}/metrics`)).body) as MetricPoint[];
    stored.forEach((p, i) => assert.equal(p.iteration, i + 1, 'stored metrics: no gap after two kills'));
    const client = await server.client();
    const resumed = unwrap(await client.emitWithAck('training:resume', { runId: id }));
    assert.ok(
      resumed.iteration <= stored.length,
      `the checkpoint (${resumed.iteration}) is not ahead of the stored metrics (${stored.length})`,
    );
    await waitFor(
      'training past the kill point',
      async () => (await runOf(server.url, id)).iteration >= stored.length + 5,
      60_000,
    );
    unwrap(await client.emitWithAck('training:pause', { runId: id }));
    const after = unwrap((await getJson(`${server.url}/api/runs/${id}/metrics`)).body) as MetricPoint[];
    after.forEach((p, i) => assert.equal(p.iteration, i + 1, 'after resume: one point per iteration, no gap'));
    assert.equal(after.length, (await runOf(server.url, id)).iteration);
  } finally {
    await server.teardown();
  }
});

test('SIGTERM with a client attached and a run training: exit 0, and the run is kept as interrupted', async () => {
  const dataDir = tempDataDir('sigterm');
  const { child, url } = await spawnServer(dataDir);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const socket: TestClient = connect(url, {
    transports: ['websocket'],
    parser: socketParser,
    forceNew: true,
    reconnection: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const run = unwrap(
      (await postJson(`${url}/api/runs`, { config: TINY_CONFIG, name: 'terminated' })).body,
    ) as RunSummary;
    unwrap(await socket.emitWithAck('run:subscribe', { runId: run.id }));
    await waitFor('training to start', async () => (await runOf(url, run.id)).iteration >= 3, 60_000);
    child.kill('SIGTERM');
    // The shutdown's own deadline is 15 s; a process still alive well past it is the hang this guards against.
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000).unref()),
    ]);
    assert.equal(code, 0);
  } finally {
    socket.disconnect();
    child.kill('SIGKILL');
  }
  const server = await startTestServer({ dataDir });
  try {
    const runs = unwrap((await getJson(`${server.url}/api/runs`)).body) as RunSummary[];
    assert.equal(runs.find((r) => r.name === 'terminated')?.state, 'interrupted');
  } finally {
    await server.teardown();
  }
});
