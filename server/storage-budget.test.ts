// The global storage budget: past it, stored frames are thinned oldest run first (pinned, first and newest frames
// stay, metrics never go), and `GET /api/storage` reports usage against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { StorageUsage } from './protocol';
import { routePath } from './protocol/http';
import { Storage } from './storage';
import type { StoredRun } from './storage-runs';
import { getJson, postJson, startTestServer, tempDataDir, unwrap, waitFor } from './testing/test-server';

const FRAME_BUDGET = { maxFrames: 1000, maxBytes: 1e9, maxFrameBytes: 1e9 };
const FRAME = Buffer.alloc(32 * 1024, 1);

function storedRun(id: string, createdAt: number): StoredRun {
  return {
    id,
    name: id,
    state: 'finished',
    iteration: 20,
    config: { task: 'copy' } as StoredRun['config'],
    createdAt,
    updatedAt: createdAt,
    loss: null,
    metric: null,
    metricName: '',
    itPerSec: null,
    failure: null,
    source: 'engine',
    client: null,
  };
}

/** Two runs of 20 frames each (run `old` created first, its frame 5 pinned) and 20 metric points each. */
function fill(dir: string): void {
  const storage = new Storage(dir, FRAME_BUDGET);
  try {
    // `young` is inserted first so the order comes from creation time, not insertion.
    storage.insertRun(storedRun('young', 2000));
    storage.insertRun(storedRun('old', 1000));
    for (const runId of ['old', 'young']) {
      const points = Array.from({ length: 20 }, (_, i) => ({
        iteration: i + 1,
        loss: 1,
        metric: 0,
        itPerSec: 1,
        t: i,
      }));
      storage.appendMetrics(runId, points, null);
      for (let it = 1; it <= 20; it++) storage.putFrame(runId, it, FRAME, runId === 'old' && it === 5);
    }
  } finally {
    storage.close();
  }
}

test('over the global budget the oldest run is thinned first; pinned, first and newest frames and metrics stay', () => {
  const dir = tempDataDir('budget');
  try {
    fill(dir);
    let storage = new Storage(dir, FRAME_BUDGET);
    const full = storage.usedBytes();
    storage.close();

    // A little over: only the oldest run loses frames.
    storage = new Storage(dir, FRAME_BUDGET, full - 4 * FRAME.length);
    assert.deepEqual(storage.enforceBudget(), ['old']);
    assert.ok(storage.usedBytes() <= storage.budgetBytes);
    const old = storage.frameIterations('old');
    assert.ok(old.length < 20, `old keeps ${old.length} frames`);
    for (const kept of [1, 5, 20]) assert.ok(old.includes(kept), `old keeps frame ${kept}`);
    assert.equal(storage.frameIterations('young').length, 20, 'the younger run is untouched');
    assert.equal(storage.usage().overBudget, false);
    storage.close();

    // Far over: both runs go down to their first, newest and pinned frames, and the budget stays exceeded.
    storage = new Storage(dir, FRAME_BUDGET, 1);
    assert.deepEqual(storage.enforceBudget(), ['old', 'young']);
    assert.deepEqual(storage.frameIterations('old'), [1, 5, 20]);
    assert.deepEqual(storage.frameIterations('young'), [1, 20]);
    const usage = storage.usage();
    assert.equal(usage.overBudget, true);
    assert.deepEqual(
      usage.perRun.map((r) => [r.runId, r.frames, r.metricPoints]),
      [
        ['old', 3, 20],
        ['young', 2, 20],
      ],
      'runs oldest first; no metric point dropped',
    );
    storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /api/storage reports usage against the budget, and a live run is kept within it', async () => {
  const budgetBytes = 3 * 1024 * 1024;
  const server = await startTestServer({ storageBudgetBytes: budgetBytes });
  try {
    const run = unwrap(
      (
        await postJson(`${server.url}/api/runs`, {
          config: { _trainer: 'synthetic', _step_ms: 2, _frame_cells: 128, _frame_width: 64, summarize_freq: 1 },
        })
      ).body,
    ) as { id: string };
    const usageUrl = `${server.url}${routePath('storage', {})}`;
    // About 200 KB per frame: 60 frames would be four times the budget.
    const usage = await waitFor('60 iterations', async () => {
      const u = unwrap((await getJson(usageUrl)).body) as StorageUsage;
      const mine = u.perRun.find((r) => r.runId === run.id);
      return mine !== undefined && mine.metricPoints >= 60 ? { u, mine } : null;
    });
    unwrap((await postJson(`${server.url}/api/runs/${run.id}/pause`, {})).body);
    assert.equal(usage.u.budgetBytes, budgetBytes);
    assert.ok(usage.u.usedBytes > 0 && usage.u.fileBytes > 0);
    assert.ok(usage.mine.frames >= 2 && usage.mine.frameBytes > 0 && usage.mine.checkpointBytes > 0);
    const after = unwrap((await getJson(usageUrl)).body) as StorageUsage;
    assert.equal(after.overBudget, false);
    assert.ok(after.usedBytes <= budgetBytes, `${after.usedBytes} bytes used, budget ${budgetBytes}`);
    const frames = unwrap((await getJson(`${server.url}/api/runs/${run.id}/frames`)).body) as { iterations: number[] };
    assert.ok(frames.iterations.length < 60, `${frames.iterations.length} frames kept`);
    assert.equal(frames.iterations[0], 1, 'the first frame stays');
  } finally {
    await server.teardown();
  }
});
