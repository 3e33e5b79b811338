/**
 * Approximate nearest-neighbour index for the sparse memories (Rae et al. 2016, §3.4 and Supplementary D use
 * FLANN randomised k-d trees and LSH; this project uses HNSW from hnswlib-node). The index is updated
 * incrementally: rows that changed are collected as dirty and re-added in place under their cell label
 * (`addPoint` on an existing label) or `markDelete`d when they went back to zero, once enough accumulate — never
 * rebuilt from all N rows. Until then searches score the dirty rows exactly against the row store and ignore the
 * index's stale entries for them, so rows written since the last update are always found.
 */
import { createRequire } from 'node:module';
import type * as Hnswlib from 'hnswlib-node';
import type { RowStore } from '../row-store';
import { buildGraphsInParallel, type GraphBuildJob } from './parallel-build';
import { COSINE_EPSILON } from '../../../util/constants';
import { hostCosine, offerZeroRows, queryNorm, rowDots, TopCells, type CellIndex } from './types';

/**
 * HNSW graph degree (M) and construction breadth. Construction breadth 32 rather than 64 (or hnswlib's default 200)
 * makes every insertion ≈1.5× cheaper, in-place updates and the bulk build of a seeded memory alike, for recall@4
 * 0.974 instead of 0.982 at 64k random rows of W 32 (search breadth 128; engine/README.md, "Performance").
 */
const HNSW_DEGREE = 16;
const HNSW_CONSTRUCTION_BREADTH = 32;
/** Search breadth; stack-notes measured recall ≥ 0.96 at 1e5 cells with ef 128. */
const HNSW_SEARCH_BREADTH = 128;
/** Written rows from which an empty graph is worth building in a worker thread (see `flushBulkBuilds`). */
const BULK_BUILD_MIN_ROWS = 2048;
/** Initial label capacity; the graph grows by doubling, so a 1M-cell memory that holds 1k rows stays small. */
const INITIAL_CAPACITY = 1024;

let loaded: typeof Hnswlib | null | undefined;

/**
 * hnswlib-node through `load` (Node's require by default), or null with a warning when its native addon does
 * not load on this machine. The default is loaded once per process.
 */
export function loadHnswlib(
  load?: () => typeof Hnswlib,
  warn: (message: string) => void = console.warn,
): typeof Hnswlib | null {
  if (load === undefined && loaded !== undefined) return loaded;
  let library: typeof Hnswlib | null;
  try {
    library = load === undefined ? (createRequire(import.meta.url)('hnswlib-node') as typeof Hnswlib) : load();
  } catch (error) {
    warn(`[engram] hnswlib-node failed to load (${String(error)}); sparse memories fall back to exact search`);
    library = null;
  }
  if (load === undefined) loaded = library;
  return library;
}

export interface HnswOptions {
  /** Dirty rows to accumulate before updating the graph in place. */
  readonly flushRows: number;
  readonly seed: number;
}

export class HnswIndex implements CellIndex {
  readonly kind = 'hnsw' as const;
  private graph: Hnswlib.HierarchicalNSW;
  private capacity = INITIAL_CAPACITY;
  /** Cells currently present (not deleted) in the graph. */
  private readonly present = new Set<number>();
  /** Labels ever added (a deleted label must be re-added through addPoint, which un-deletes it). */
  private readonly everAdded = new Set<number>();
  private readonly dirty = new Set<number>();

  constructor(
    private readonly library: typeof Hnswlib,
    private readonly store: RowStore,
    private readonly options: HnswOptions,
  ) {
    this.graph = this.newGraph();
  }

  search(queries: Float32Array, queryCount: number, k: number): Int32Array {
    if (this.dirty.size >= this.options.flushRows) this.flush();
    const width = this.store.cellSize;
    const tops = Array.from({ length: queryCount }, () => new TopCells(k));
    const norms = Float64Array.from({ length: queryCount }, (_, q) => queryNorm(queries, q, width));
    let stalePresent = 0;
    for (const cell of this.dirty) if (this.present.has(cell)) stalePresent++;
    const available = this.present.size - stalePresent;
    for (let q = 0; q < queryCount; q++) {
      if (available > 0 && norms[q] > 0) {
        const query = Array.from(queries.subarray(q * width, (q + 1) * width));
        const result = this.searchFresh(query, Math.min(available, k), stalePresent);
        if (result === null) {
          this.scanPresent(tops[q], queries, q, norms[q]);
        } else {
          result.neighbors.forEach((cell, i) => {
            // Stale entries: the dirty rows are scored below from their current contents.
            if (!this.dirty.has(cell)) tops[q].offer(1 - result.distances[i], cell);
          });
        }
      }
    }
    this.scoreDirty(tops, queries, norms);
    offerZeroRows(tops, this.store, k);
    const out = new Int32Array(queryCount * k);
    tops.forEach((top, q) => out.set(top.cells, q * k));
    return out;
  }

  /**
   * At least `wanted` graph results that are not stale (dirty), or null (see `searchGraph`). The graph is asked
   * for up to `wanted` more than that without a filter first, and again with the filter only when too many of
   * those come back stale: hnswlib calls a filter back in JS for every node it visits, which makes a search about
   * 1.5× slower, and asking for k + |dirty| instead would widen every search to hundreds of results.
   */
  private searchFresh(query: number[], wanted: number, stalePresent: number): Hnswlib.SearchResult | null {
    if (stalePresent === 0) return this.searchGraph(query, wanted, undefined);
    const widened = this.searchGraph(query, Math.min(this.present.size, wanted + Math.min(stalePresent, wanted)));
    if (widened !== null && widened.neighbors.filter((cell) => !this.dirty.has(cell)).length >= wanted) return widened;
    return this.searchGraph(query, wanted, (label: number) => !this.dirty.has(label));
  }

  /** Offer every dirty row to every query, scored exactly from the row store (zero for unwritten rows). */
  private scoreDirty(tops: readonly TopCells[], queries: Float32Array, norms: Float64Array): void {
    const dots = new Float64Array(tops.length);
    for (const cell of this.dirty) {
      const page = this.store.pageOf(cell);
      if (page === undefined || !this.store.isWritten(cell)) {
        for (const top of tops) top.offer(0, cell);
        continue;
      }
      rowDots(page, this.store.rowOffset(cell), queries, tops.length, this.store.cellSize, dots);
      const rowNorm = this.store.rowNorm(cell);
      tops.forEach((top, q) => top.offer(dots[q] / (rowNorm * norms[q] + COSINE_EPSILON), cell));
    }
  }

  /** k-NN from the graph, or null when hnswlib cannot return k results (many deletions, tiny graphs). */
  private searchGraph(
    query: number[],
    wanted: number,
    filter?: (label: number) => boolean,
  ): Hnswlib.SearchResult | null {
    try {
      return filter === undefined ? this.graph.searchKnn(query, wanted) : this.graph.searchKnn(query, wanted, filter);
    } catch {
      return null;
    }
  }

  /** Exact fallback over the rows present in the graph. */
  private scanPresent(top: TopCells, queries: Float32Array, q: number, norm: number): void {
    const width = this.store.cellSize;
    for (const cell of this.present) {
      const where = this.store.locate(cell);
      if (where !== null && !this.dirty.has(cell))
        top.offer(hostCosine(where.page, where.offset, queries, q * width, width, norm), cell);
    }
  }

  markDirty(cell: number): void {
    this.dirty.add(cell);
  }

  /**
   * The build of this graph from scratch that its next flush would do, as a job for a worker thread: only while
   * nothing was ever added and at least `BULK_BUILD_MIN_ROWS` written rows wait (a seeded or restored memory).
   * Same rows, order, seed and capacity as `flush`, so the built graph is the one `flush` would build.
   */
  bulkBuildJob(): GraphBuildJob | null {
    if (this.everAdded.size > 0 || this.dirty.size < Math.max(this.options.flushRows, BULK_BUILD_MIN_ROWS)) return null;
    const width = this.store.cellSize;
    const rows = new Float32Array(this.dirty.size * width);
    const labels: number[] = [];
    for (const cell of this.dirty) {
      if (this.readNonZero(cell, rows, labels.length * width)) labels.push(cell);
    }
    if (labels.length < BULK_BUILD_MIN_ROWS) return null;
    let capacity = this.capacity;
    while (capacity < labels.length) capacity *= 2;
    return {
      rows: rows.subarray(0, labels.length * width),
      labels: Int32Array.from(labels),
      cellSize: width,
      capacity,
      degree: HNSW_DEGREE,
      constructionBreadth: HNSW_CONSTRUCTION_BREADTH,
      seed: this.options.seed,
    };
  }

  /** Take the graph a worker built from `bulkBuildJob()` (saved at `file`) in place of the pending flush. */
  adoptGraph(file: string, labels: Int32Array): void {
    const graph = new this.library.HierarchicalNSW('cosine', this.store.cellSize);
    graph.readIndexSync(file);
    graph.setEf(HNSW_SEARCH_BREADTH);
    this.graph = graph;
    this.capacity = graph.getMaxElements();
    for (const cell of labels) {
      this.everAdded.add(cell);
      this.present.add(cell);
    }
    this.dirty.clear();
  }

  /** Bring the graph up to date with the dirty rows, in place. */
  flush(): void {
    const row = new Float32Array(this.store.cellSize);
    for (const cell of this.dirty) {
      const nonZero = this.readNonZero(cell, row, 0);
      if (nonZero) {
        // Rows restored by a rollback usually hold what the graph already has: skip the costly re-insert.
        if (this.present.has(cell) && this.graphHolds(cell, row)) continue;
        if (!this.everAdded.has(cell) && this.everAdded.size >= this.capacity) {
          this.capacity *= 2;
          this.graph.resizeIndex(this.capacity);
        }
        this.graph.addPoint(Array.from(row), cell);
        this.everAdded.add(cell);
        this.present.add(cell);
      } else if (this.present.has(cell)) {
        // A zero row has no direction under cosine distance; zero rows are found by index order instead.
        this.graph.markDelete(cell);
        this.present.delete(cell);
      }
    }
    this.dirty.clear();
  }

  /** Read `cell`'s row into `out` at `offset`; whether it is a written, non-zero row (one the graph must hold). */
  private readNonZero(cell: number, out: Float32Array, offset: number): boolean {
    this.store.readInto(cell, out, offset);
    return (
      this.store.isWritten(cell) && out.subarray(offset, offset + this.store.cellSize).some((value) => value !== 0)
    );
  }

  /** Whether the graph's (normalised) vector for `cell` is `row`'s direction, to float32 precision. */
  private graphHolds(cell: number, row: Float32Array): boolean {
    const stored = this.graph.getPoint(cell);
    let norm = 0;
    for (const value of row) norm += value * value;
    norm = Math.sqrt(norm);
    return stored.length === row.length && stored.every((value, i) => Math.abs(value - row[i] / norm) <= 1e-6);
  }

  clear(): void {
    this.present.clear();
    this.everAdded.clear();
    this.dirty.clear();
    this.capacity = INITIAL_CAPACITY;
    this.graph = this.newGraph();
  }

  dispose(): void {
    this.clear();
  }

  private newGraph(): Hnswlib.HierarchicalNSW {
    const graph = new this.library.HierarchicalNSW('cosine', this.store.cellSize);
    graph.initIndex(this.capacity, HNSW_DEGREE, HNSW_CONSTRUCTION_BREADTH, this.options.seed);
    graph.setEf(HNSW_SEARCH_BREADTH);
    return graph;
  }
}

/**
 * Before a step searches: build the empty graphs of several batch elements that wait for many rows in parallel,
 * one worker thread each (see `parallel-build.ts`). Indexes with nothing to build, exact indexes, and a lone
 * build (no parallelism to gain) are left to their own flush.
 */
export function flushBulkBuilds(indexes: readonly CellIndex[]): void {
  const pending = indexes.flatMap((index) => {
    const job = index instanceof HnswIndex ? index.bulkBuildJob() : null;
    return job === null ? [] : [{ index: index as HnswIndex, job }];
  });
  if (pending.length < 2) return;
  buildGraphsInParallel(
    pending.map(({ job }) => job),
    (slot, file) => pending[slot].index.adoptGraph(file, pending[slot].job.labels),
  );
}
