/**
 * Asking a step's indexes ahead (Rae et al. 2016, §3.4: one nearest-neighbour search per read head and batch
 * element): the HNSW graphs of all batch elements, in their graph threads, build and search at once while the
 * caller goes on; each `HnswIndex.search` then collects its answer.
 */
import { HnswIndex } from './hnsw-index';
import type { CellIndex } from './types';

/**
 * Before a step searches: start the bulk builds of the graphs that wait for many rows (on their graph threads,
 * in parallel; see `HnswIndex.startBulkBuild`), then ask every HNSW index for the step's read keys (`keys`: `[batch,
 * queryCount, W]` row-major), so that graphs in worker threads all search at once. Exact indexes are left alone.
 */
export function askIndexesAhead(
  indexes: readonly CellIndex[],
  keys: Float32Array,
  queryCount: number,
  k: number,
): void {
  const graphs = indexes.filter((index): index is HnswIndex => index instanceof HnswIndex);
  flushBulkBuilds(graphs);
  const stride = keys.length / Math.max(1, indexes.length);
  indexes.forEach((index, b) => {
    if (index instanceof HnswIndex) index.ask(keys.subarray(b * stride, (b + 1) * stride), queryCount, k);
  });
}

/** Start the bulk build of every graph that waits for one (see `HnswIndex.startBulkBuild`). */
export function flushBulkBuilds(indexes: readonly CellIndex[]): void {
  for (const index of indexes) if (index instanceof HnswIndex) index.startBulkBuild();
}
