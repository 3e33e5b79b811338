// A failing disk (SQLITE_FULL, injected through a Storage subclass beside this test) pauses the run with a storage
// failure and keeps its data in memory; when writes succeed again nothing is lost and the run goes on by itself.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ApiError } from './errors';
import type { MetricPoint, RunSummary } from './protocol';
import type { WireFrame } from './protocol/frames';
import { RunManager, type RunListener } from './run-manager';
import { PENDING_FRAME_BYTES, PendingWrites } from './run-persistence';
import { Storage, type CommitBatch } from './storage';
import { createHookedTraining } from './testing/hooked-training';
import { TEST_WORKER_ENV, tempDataDir, waitFor } from './testing/test-server';

/** Storage whose commits throw SQLITE_FULL, as a full disk makes better-sqlite3 do, while `full` is set. */
class FullDiskStorage extends Storage {
  full = false;
  failedCommits = 0;

  override commit(runId: string, batch: CommitBatch): boolean {
    if (this.full) {
      this.failedCommits++;
      throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
    }
    return super.commit(runId, batch);
  }
}

/** Records what subscribers would see. */
class RecordingListener implements RunListener {
  readonly runs = new Map<string, RunSummary>();
  readonly framesSeen: number[] = [];
  runUpdated(run: RunSummary): void {
    this.runs.set(run.id, run);
  }
  metrics(_runId: string, _points: MetricPoint[]): void {}
  frame(_runId: string, frame: WireFrame): void {
    this.framesSeen.push(frame.iteration);
  }
  framesStored(_runId: string, _iterations: number[]): void {}
  runDeleted(_runId: string): void {}
}

let dataDir: string;
let storage: FullDiskStorage;
let manager: RunManager;
let listener: RecordingListener;
const logged: { level: 'error' | 'warn'; text: string }[] = [];
const originalError = console.error;
const originalWarn = console.warn;

beforeEach(() => {
  dataDir = tempDataDir('storage-failure');
  storage = new FullDiskStorage(dataDir, { maxFrames: 1000, maxBytes: 1e9, maxFrameBytes: 1e9 });
  listener = new RecordingListener();
  manager = new RunManager(storage, listener, {
    checkpointIntervalMs: 100,
    flushIntervalMs: 20,
    workerMaxOldGenerationMb: 256,
    commandTimeoutMs: 30_000,
    stopGraceMs: 5000,
    memoryBudgetBytes: 8 * 1024 ** 3,
    maxTraining: 4,
    training: createHookedTraining(),
    clientTimeoutMs: 15_000,
    workerEnv: TEST_WORKER_ENV,
  });
  logged.length = 0;
  console.error = (...args: unknown[]) => logged.push({ level: 'error', text: args.map(String).join(' ') });
  console.warn = (...args: unknown[]) => logged.push({ level: 'warn', text: args.map(String).join(' ') });
});

afterEach(async () => {
  storage.full = false;
  await manager.close();
  storage.close();
  console.error = originalError;
  console.warn = originalWarn;
  rmSync(dataDir, { recursive: true, force: true });
});

function stored(runId: string): MetricPoint[] {
  return [...storage.eachMetric(runId, -1, Number.MAX_SAFE_INTEGER)];
}

function assertContiguous(points: readonly MetricPoint[], what: string): void {
  points.forEach((p, i) => assert.equal(p.iteration, i + 1, `${what}: one point per iteration from 1, no gap`));
}

test('a full disk pauses the run (reason storage), logs once, loses nothing; the run resumes by itself', async () => {
  const run = await manager.create({ _trainer: 'synthetic', _step_ms: 2, summarize_freq: 1 }, 'full-disk');
  await waitFor('some stored iterations', () => storage.frameIterations(run.id).length >= 5);

  storage.full = true;
  const paused = await waitFor('the storage failure to pause the run', () => {
    const r = manager.get(run.id);
    return r.state === 'paused' && r.failure?.reason === 'storage' ? r : null;
  });
  assert.match(paused.failure?.message ?? '', /SQLITE_FULL|disk is full/);
  assert.equal(listener.runs.get(run.id)?.failure?.reason, 'storage', 'subscribers are told');
  // Backoff retries go on; each is not another log line.
  const attempts = storage.failedCommits;
  await waitFor('two more failed retries', () => storage.failedCommits >= attempts + 2);
  assert.equal(logged.filter((l) => /storage write failed/.test(l.text)).length, 1, 'logged once per episode');
  assert.equal(logged.length, 1, logged.map((l) => l.text).join('\n'));

  // What is stored has no gap; the rest waits in memory (checked whole after recovery).
  assertContiguous(stored(run.id), 'stored during the failure');
  await assert.rejects(manager.resume(run.id), (e: unknown) => e instanceof ApiError && e.code === 'storage_failed');

  storage.full = false;
  const recovered = await waitFor('the run to recover and train on', () => {
    const r = manager.get(run.id);
    return r.state === 'running' && r.failure === null && r.iteration > paused.iteration + 20 ? r : null;
  });
  assert.equal(logged.filter((l) => /succeed again/.test(l.text)).length, 1, 'the recovery is logged once');
  await manager.pause(run.id);

  const after = stored(run.id);
  assertContiguous(after, 'stored after recovery');
  assert.equal(after.length, manager.get(run.id).iteration, 'every iteration is on disk');
  // Frames keep being stored after the failure: the failure did not leak the worker's frames-in-flight count.
  const frames = storage.frameIterations(run.id);
  assert.ok(
    frames.filter((it) => it > recovered.iteration).length >= 1 && frames.length > paused.iteration,
    `frames stored: ${frames.length}, paused at ${paused.iteration}`,
  );
  assert.ok(storage.getCheckpoint(run.id) !== null);
});

test('a run the user paused during the failure stays paused after recovery, its failure cleared', async () => {
  const run = await manager.create({ _trainer: 'synthetic', _step_ms: 2, summarize_freq: 5 }, 'user-paused');
  await waitFor('some iterations', () => manager.get(run.id).iteration >= 5);
  storage.full = true;
  await waitFor('the storage failure', () => manager.get(run.id).failure?.reason === 'storage');
  await manager.pause(run.id);
  storage.full = false;
  await waitFor('the failure to clear', () => manager.get(run.id).failure === null);
  await waitFor('the pending writes to land', () => stored(run.id).length > 0);
  assert.equal(manager.get(run.id).state, 'paused');
  assertContiguous(stored(run.id), 'stored');
  await waitFor('the stored row to drop the failure', () => {
    const row = storage.allRuns().find((r) => r.id === run.id);
    return row?.state === 'paused' && row.failure === null;
  });
});

test('an external run is paused through its client during the failure, and resumed with nothing lost', async () => {
  const run = manager.createExternal({ name: 'ext', config: {}, controls: ['pause', 'step', 'stop'] });
  const point = (iteration: number): MetricPoint => ({
    iteration,
    loss: 1 / iteration,
    metric: 0,
    itPerSec: 0,
    t: iteration,
  });
  manager.ingestMetrics(run.id, [1, 2, 3].map(point));
  await waitFor('the first points stored', () => stored(run.id).length === 3);
  storage.full = true;
  manager.ingestMetrics(run.id, [4, 5].map(point));
  await waitFor('the storage failure', () => manager.get(run.id).failure?.reason === 'storage');
  assert.equal(manager.get(run.id).state, 'paused');
  assert.equal(manager.ingestMetrics(run.id, [point(6)]).state, 'paused', 'the client is told to pause');
  assertContiguous(stored(run.id), 'stored during the failure');
  storage.full = false;
  await waitFor('recovery', () => manager.get(run.id).state === 'running' && manager.get(run.id).failure === null);
  assertContiguous(stored(run.id), 'stored');
  assert.equal(stored(run.id).length, 6);
});

test('while storage fails memory stays bounded: the oldest unpinned frames go first, metric points never', () => {
  const pending = new PendingWrites('r');
  const frameBytes = 4 * 1024 * 1024;
  const count = PENDING_FRAME_BYTES / frameBytes + 4;
  for (let it = 1; it <= count; it++) {
    pending.addPoint({ iteration: it, loss: 1, metric: 0, itPerSec: 1, t: it });
    pending.addFrame(
      { iteration: it, timesteps: 1, capturedAt: it, tensors: [], buffer: new ArrayBuffer(frameBytes) },
      it === 2,
    );
  }
  const frames = pending.frameIterations();
  assert.equal(frames.length, PENDING_FRAME_BYTES / frameBytes);
  assert.ok(frames.includes(2), 'the pinned frame stays');
  assert.ok(frames.includes(count), 'the newest frame stays');
  assert.deepEqual(
    frames.filter((it) => it !== 2),
    Array.from({ length: frames.length - 1 }, (_, i) => count - frames.length + 2 + i),
    'the oldest unpinned frames were dropped',
  );
  assert.equal(pending.takeDropped(), 4);
  assert.equal(pending.metricsSince(0).length, count, 'every metric point is kept');
});
