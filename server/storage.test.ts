// Storage: frame thinning keeps history scrubbable end to end within the budget; roll-back and checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { RunSummary } from './protocol';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { metricsSnapshot } from './metric-query';
import { decodeFrameBlob, packFrame, tensorValues } from './frame-codec';
import { METRIC_OVERVIEW_POINTS } from './protocol';
import { PendingWrites } from './run-persistence';
import { Storage } from './storage';
import { tempDataDir } from './testing/test-server';

test('over budget, every other frame of the oldest half goes; first, newest and pinned frames stay', () => {
  const dir = tempDataDir('storage');
  const storage = new Storage(dir, { maxFrames: 10, maxBytes: 1e9, maxFrameBytes: 1e9 });
  try {
    const blob = Buffer.alloc(100);
    for (let it = 1; it <= 100; it++) storage.putFrame('r', it, blob, it === 7);
    const kept = storage.frameIterations('r');
    const unpinned = kept.filter((it) => it !== 7);
    assert.ok(unpinned.length <= 10, `${unpinned.length} frames kept`);
    assert.ok(kept.includes(1), 'the first frame stays');
    assert.ok(kept.includes(100), 'the newest frame stays');
    assert.ok(kept.includes(7), 'the pinned frame stays');
    assert.ok(unpinned.filter((it) => it > 50).length >= 3, 'recent history is denser than old history');
    assert.deepEqual(
      [...kept].sort((a, b) => a - b),
      kept,
    );

    const byBytes = new Storage(tempDataDir('bytes'), { maxFrames: 1000, maxBytes: 1000, maxFrameBytes: 1e9 });
    for (let it = 1; it <= 40; it++) byBytes.putFrame('r', it, blob, false);
    assert.ok(byBytes.frameIterations('r').length <= 10);
    byBytes.close();
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('roll back forgets metrics and frames after the checkpoint; data survives reopening', () => {
  const dir = tempDataDir('rollback');
  let storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
  try {
    const points = Array.from({ length: 10 }, (_, i) => ({
      iteration: i + 1,
      loss: 1 / (i + 1),
      metric: 0.5,
      itPerSec: 3,
      t: i,
    }));
    storage.appendMetrics('r', points, null);
    for (const it of [2, 4, 6, 8, 10]) storage.putFrame('r', it, Buffer.alloc(8), false);
    storage.putCheckpoint('r', 6, Uint8Array.of(1, 2, 3));
    storage.close();
    storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
    assert.deepEqual(storage.getCheckpoint('r'), { iteration: 6, bytes: Uint8Array.of(1, 2, 3) });
    storage.rollBack('r', 6);
    assert.deepEqual(
      storage.metricsPage('r', 0, Number.MAX_SAFE_INTEGER, 1000).map((p) => p.iteration),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(storage.frameIterations('r'), [2, 4, 6]);
    assert.equal(storage.getFrame('r', 8), null);
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit is all or nothing: a failing batch stores neither its metrics, frames nor checkpoint', () => {
  const dir = tempDataDir('commit');
  const storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
  try {
    const point = (iteration: number) => ({ iteration, loss: 1, metric: 0, itPerSec: 1, t: iteration });
    storage.commit('r', { points: [point(1)], frames: [], checkpoint: null, run: null });
    // The summary row is written last; one that cannot be serialised fails the transaction after the frame went in.
    const run = { id: 'r', config: { seed: 1n } } as unknown as RunSummary;
    assert.throws(
      () =>
        storage.commit('r', {
          points: [point(2)],
          frames: [{ iteration: 2, blob: () => Buffer.alloc(8), pinned: false }],
          checkpoint: { iteration: 2, bytes: Uint8Array.of(9) },
          run,
        }),
      /BigInt/,
    );
    assert.deepEqual(
      [...storage.eachMetric('r', -1, Number.MAX_SAFE_INTEGER)].map((p) => p.iteration),
      [1],
    );
    assert.deepEqual(storage.frameIterations('r'), [], 'the frame index forgets the rolled-back frame');
    assert.equal(storage.getCheckpoint('r'), null);
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database whose runs still have the test-only hooks column opens, loses the column and takes new runs', () => {
  const dir = tempDataDir('hooks-column');
  const old = new Database(join(dir, 'engram.sqlite'));
  old.exec(`CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, iteration INTEGER NOT NULL,
    config TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, loss REAL, metric REAL,
    metric_name TEXT NOT NULL, it_per_sec REAL, failure TEXT, hooks TEXT NOT NULL, source TEXT NOT NULL DEFAULT
    'engine', client TEXT);
    INSERT INTO runs VALUES ('r1', 'old', 'stopped', 3, '{"task":"copy"}', 1, 2, 0.5, 0.1, 'ber', null, null,
    '{"trainer":"synthetic"}', 'engine', null);`);
  old.close();
  const storage = new Storage(dir, { maxFrames: 10, maxBytes: 1e6, maxFrameBytes: 1e6 });
  try {
    const [run] = storage.allRuns();
    assert.deepEqual([run.id, run.state, run.iteration], ['r1', 'stopped', 3]);
    assert.equal('hooks' in run, false);
    storage.insertRun({ ...run, id: 'r2', name: 'new' });
    assert.deepEqual(
      storage.allRuns().map((r) => r.id),
      ['r1', 'r2'],
    );
  } finally {
    storage.close();
  }
  const reopened = new Database(join(dir, 'engram.sqlite'));
  try {
    const columns = (reopened.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name);
    assert.ok(!columns.includes('hooks'), `runs columns: ${columns.join(', ')}`);
  } finally {
    reopened.close();
  }
});

test('the whole-history overview follows appends, rewrites and roll-backs, and survives a reopen', () => {
  const dir = tempDataDir('summary');
  let storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
  const point = (iteration: number, loss = 1 / iteration) => ({
    iteration,
    loss,
    metric: 0,
    itPerSec: 1,
    t: iteration,
  });
  const append = (from: number, to: number) =>
    storage.appendMetrics(
      'r',
      Array.from({ length: to - from + 1 }, (_, i) => point(from + i)),
      null,
    );
  const snapshot = () => metricsSnapshot(storage, 'r', -1);
  try {
    append(1, 20_000);
    const first = snapshot();
    assert.equal(first.metricCount, 20_000);
    assert.ok(first.metrics.length <= METRIC_OVERVIEW_POINTS);
    assert.equal(first.metrics.at(-1)?.iteration, 20_000);
    append(20_001, 30_000);
    storage.appendMetrics('r', [point(30_001, 1e9)], null);
    const grown = snapshot();
    assert.equal(grown.metricCount, 30_001);
    // A rewritten older point (an external client that sent an iteration again) is seen, not a stale copy of it.
    storage.appendMetrics('r', [point(5_000, 5e9)], null);
    assert.ok(snapshot().metrics.some((p) => p.iteration === 5_000 && p.loss === 5e9));
    storage.rollBack('r', 25_000);
    const rolled = snapshot();
    assert.equal(rolled.metricCount, 25_000);
    assert.equal(rolled.metrics.at(-1)?.iteration, 25_000);
    assert.ok(!rolled.metrics.some((p) => p.loss === 1e9));
    storage.close();
    storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
    assert.deepEqual(snapshot(), rolled);
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pending frames of different sizes, committed through one reused blob buffer, are each stored whole', () => {
  const dir = tempDataDir('pending-frames');
  const storage = new Storage(dir, { maxFrames: 100, maxBytes: 1e9, maxFrameBytes: 1e9 });
  try {
    const pending = new PendingWrites('r');
    const sizes = [300, 20, 5000, 7];
    sizes.forEach((size, i) =>
      pending.addFrame(
        packFrame(
          {
            timesteps: 1,
            tensors: [
              { name: `t${i}`, layer: 0, shape: [size], axes: ['cell'], data: new Float32Array(size).fill(i + 1) },
            ],
          },
          i + 1,
          i,
        ),
        false,
      ),
    );
    pending.commit(storage, { id: 'r' } as RunSummary);
    assert.deepEqual(storage.frameIterations('r'), [1, 2, 3, 4]);
    sizes.forEach((size, i) => {
      const frame = decodeFrameBlob(storage.getFrame('r', i + 1) as Buffer);
      assert.equal(frame.tensors[0].name, `t${i}`);
      assert.deepEqual(tensorValues(frame, frame.tensors[0]), new Float32Array(size).fill(i + 1));
    });
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
