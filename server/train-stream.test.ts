// `npm run train -- --stream URL`: the CLI trainer as an external run of a real server; pause holds it, step 3 runs
// exactly 3 iterations, stop ends the process cleanly, and its frames and metrics arrive like an engine run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { MetricPoint } from './protocol';
import { getJson, postJson, runOf, startTestServer, TINY_CONFIG, unwrap, waitFor } from './testing/test-server';

test('train --stream: frames and metrics arrive, pause holds, step 3 is exactly 3, stop ends it', async () => {
  const server = await startTestServer();
  const flags = Object.entries({ ...TINY_CONFIG, summarize_freq: 2, iterations: 100_000 }).flatMap(([k, v]) => [
    `--${k}`,
    String(v),
  ]);
  const child = spawn(process.execPath, ['--import', 'tsx', 'engine/cli/train.ts', '--stream', server.url, ...flags], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, ENGRAM_BACKEND: 'cpu' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const runId = await waitFor('the streamed run', () => output.match(/streaming into \S+\/runs\/(\w+)/)?.[1], 60_000);
    const run = await runOf(server.url, runId);
    assert.equal(run.source, 'external');
    assert.equal(run.config.mem_slot, TINY_CONFIG.mem_slot);
    await waitFor('a few iterations', async () => (await runOf(server.url, runId)).iteration >= 4, 60_000);
    const frames = unwrap((await getJson(`${server.url}/api/runs/${runId}/frames`)).body) as { iterations: number[] };
    assert.ok(frames.iterations.length > 0 && frames.iterations.every((i) => i % 2 === 0), 'frames at summarize_freq');

    unwrap((await postJson(`${server.url}/api/runs/${runId}/pause`, {})).body);
    await waitFor('the trainer to block', async () => (await runOf(server.url, runId)).client?.waiting);
    const held = (await runOf(server.url, runId)).iteration;
    unwrap((await postJson(`${server.url}/api/runs/${runId}/step`, { n: 3 })).body);
    const after = await waitFor(
      'three iterations, then blocked again',
      async () => {
        const r = await runOf(server.url, runId);
        return r.iteration > held && r.state === 'paused' && r.client?.waiting ? r : null;
      },
      60_000,
    );
    assert.equal(after.iteration, held + 3);
    const points = unwrap((await getJson(`${server.url}/api/runs/${runId}/metrics`)).body) as MetricPoint[];
    assert.deepEqual(
      points.map((p) => p.iteration),
      Array.from({ length: held + 3 }, (_, i) => i + 1),
      'every iteration once, in order',
    );
    assert.ok(points.every((p) => Number.isFinite(p.loss)));

    unwrap((await postJson(`${server.url}/api/runs/${runId}/stop`, {})).body);
    assert.equal(await exited, 0, output);
    assert.match(output, /stopped from the browser/);
    assert.equal((await runOf(server.url, runId)).state, 'stopped');
  } finally {
    child.kill();
    await server.teardown();
  }
});
