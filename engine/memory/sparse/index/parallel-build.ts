/**
 * Builds the HNSW graphs of several batch elements at once, one per worker thread. A sparse memory starting from
 * many written rows (a restored checkpoint, a seeded memory) would otherwise insert every row of every batch
 * element one after another on the main thread — 512k insertions for 64k rows × 8 elements. Each worker builds one
 * element's graph with the same parameters, seed and insertion order as the in-place flush (so the graph is the
 * same), writes it to a temporary file, and the index reads it back.
 *
 * The memory step is synchronous, so the caller blocks on `Atomics.wait` until every job has settled; a job that
 * fails or times out is left to the index's own sequential flush.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** One graph to build: `rows` is `[labels.length, cellSize]` row-major, inserted in `labels` order. */
export interface GraphBuildJob {
  readonly rows: Float32Array;
  readonly labels: Int32Array;
  readonly cellSize: number;
  /** hnswlib's `initIndex` arguments. */
  readonly capacity: number;
  readonly degree: number;
  readonly constructionBreadth: number;
  readonly seed: number;
}

/** Job states in the shared status array. */
const PENDING = 0;
const BUILT = 1;
const FAILED = 2;

/** How long the step waits for all builds before falling back (a worker that never started, a stuck build). */
const BUILD_TIMEOUT_MS = 300_000;

/** The worker's whole program: CommonJS, so it runs without the TypeScript loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { HierarchicalNSW } = require(workerData.hnswlibPath);
parentPort.on('message', (job) => {
  let state = ${FAILED};
  try {
    const graph = new HierarchicalNSW('cosine', job.cellSize);
    graph.initIndex(job.capacity, job.degree, job.constructionBreadth, job.seed);
    const row = new Array(job.cellSize);
    for (let i = 0; i < job.labels.length; i++) {
      for (let j = 0; j < job.cellSize; j++) row[j] = job.rows[i * job.cellSize + j];
      graph.addPoint(row, job.labels[i]);
    }
    graph.writeIndexSync(job.file);
    state = ${BUILT};
  } catch (error) {
    state = ${FAILED};
  }
  const status = new Int32Array(job.status);
  Atomics.store(status, job.slot, state);
  Atomics.notify(status, job.slot);
});
`;

let pool: Worker[] | null = null;

function workers(count: number): Worker[] {
  if (pool === null) {
    const hnswlibPath = createRequire(import.meta.url).resolve('hnswlib-node');
    pool = Array.from({ length: Math.max(1, availableParallelism()) }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hnswlibPath } });
      worker.unref();
      return worker;
    });
  }
  return pool.slice(0, Math.max(1, Math.min(count, pool.length)));
}

/**
 * Build every job's graph in parallel and hand each built graph's file to `adopt(jobIndex, file)` (the file is
 * deleted afterwards). Returns the indices of the jobs that were built; the others are the caller's to do.
 */
export function buildGraphsInParallel(
  jobs: readonly GraphBuildJob[],
  adopt: (jobIndex: number, file: string) => void,
): number[] {
  if (jobs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'engram-hnsw-'));
  const status = new Int32Array(new SharedArrayBuffer(4 * jobs.length));
  try {
    const threads = workers(jobs.length);
    jobs.forEach((job, slot) => {
      threads[slot % threads.length].postMessage({
        ...job,
        file: join(dir, `graph-${slot}.bin`),
        status: status.buffer,
        slot,
      });
    });
    const deadline = Date.now() + BUILD_TIMEOUT_MS;
    const built: number[] = [];
    jobs.forEach((_, slot) => {
      while (Atomics.load(status, slot) === PENDING) {
        const left = deadline - Date.now();
        if (left <= 0) return;
        Atomics.wait(status, slot, PENDING, left);
      }
      if (Atomics.load(status, slot) === BUILT) {
        adopt(slot, join(dir, `graph-${slot}.bin`));
        built.push(slot);
      }
    });
    return built;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
