/**
 * Approximate nearest-neighbour index for the sparse memories (Rae et al. 2016, §3.4 and Supplementary D use
 * FLANN randomised k-d trees and LSH; this project uses HNSW from hnswlib-node). The index is updated
 * incrementally: rows that changed are collected as dirty and re-added in place under their cell label
 * (`addPoint` on an existing label) or `markDelete`d when they went back to zero, once enough accumulate — never
 * rebuilt from all N rows. Until then searches score the dirty rows exactly against the row store and ignore the
 * index's stale entries for them, so rows written since the last update are always found.
 */
import type * as Hnswlib from 'hnswlib-node';
import type { RowStore } from '../row-store';
import { COSINE_EPSILON } from '../../../util/constants';
import { type GraphHost, GraphThreadError, LocalGraph, workerGraph } from './graph-host';
import type { GraphAnswer, GraphBuild, GraphShape } from './graph-ops';
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
/** Written rows from which an empty graph is built in one go on its thread (see `flushBulkBuilds`). */
const BULK_BUILD_MIN_ROWS = 2048;
/** Initial label capacity; the graph grows by doubling, so a 1M-cell memory that holds 1k rows stays small. */
const INITIAL_CAPACITY = 1024;

export interface HnswOptions {
  /** Dirty rows to accumulate before updating the graph in place. */
  readonly flushRows: number;
  readonly seed: number;
}

/** A search asked ahead (`ask`): its queries and k, the query norms, and what each query asked of the graph. */
interface AskedSearch {
  readonly queries: Float32Array;
  readonly k: number;
  readonly norms: Float64Array;
  readonly wanted: Int32Array;
  /** False once the dirty rows changed after the ask: the answer no longer fits them. */
  current: boolean;
}

export class HnswIndex implements CellIndex {
  readonly kind = 'hnsw' as const;
  /** The graph, in a graph worker thread or in this one (`graph-host.ts`). */
  private host: GraphHost;
  private capacity = INITIAL_CAPACITY;
  /** Cells currently present (not deleted) in the graph. */
  private readonly present = new Set<number>();
  /** Labels ever added (a deleted label must be re-added through addPoint, which un-deletes it). */
  private readonly everAdded = new Set<number>();
  private readonly dirty = new Set<number>();
  private asked: AskedSearch | null = null;

  constructor(
    private readonly library: typeof Hnswlib,
    private readonly store: RowStore,
    private readonly options: HnswOptions,
  ) {
    this.host = workerGraph(this.shape()) ?? new LocalGraph(library, this.shape());
  }

  /**
   * Start searching the graph for `queries` (`[queryCount, W]`): a graph in a worker thread searches while the
   * caller goes on (the other batch elements' graphs, in their threads, at the same time). The next `search` for
   * the same queries and k collects the answer.
   */
  ask(queries: Float32Array, queryCount: number, k: number): void {
    this.asked = this.askGraph(queries, queryCount, k);
  }

  private askGraph(queries: Float32Array, queryCount: number, k: number): AskedSearch {
    this.dropAsked();
    if (this.dirty.size >= this.options.flushRows) this.flush();
    const width = this.store.cellSize;
    const norms = Float64Array.from({ length: queryCount }, (_, q) => queryNorm(queries, q, width));
    const stale = Int32Array.from([...this.dirty].filter((cell) => this.present.has(cell)));
    const available = this.present.size - stale.length;
    const wanted = Int32Array.from(norms, (norm) => (available > 0 && norm > 0 ? Math.min(available, k) : 0));
    const widened = wanted.map((count) =>
      stale.length === 0 ? count : Math.min(this.present.size, count + Math.min(stale.length, count)),
    );
    const asked = queries.slice(0, queryCount * width);
    this.host.ask({ queries: asked, wanted, widened, stale });
    return { queries: asked, k, norms, wanted, current: true };
  }

  search(queries: Float32Array, queryCount: number, k: number): Int32Array {
    const width = this.store.cellSize;
    if (!this.askedFor(queries.subarray(0, queryCount * width), k)) this.ask(queries, queryCount, k);
    const { answer, norms, wanted } = this.collect(queries, queryCount, k);
    const tops = Array.from({ length: queryCount }, () => new TopCells(k));
    for (let q = 0; q < queryCount; q++) {
      if (wanted[q] === 0) continue;
      if (answer.counts[q] < 0) {
        this.scanPresent(tops[q], queries, q, norms[q]);
        continue;
      }
      for (let i = 0; i < answer.counts[q]; i++) {
        const cell = answer.labels[q * answer.width + i];
        // Stale entries: the dirty rows are scored below from their current contents.
        if (!this.dirty.has(cell)) tops[q].offer(1 - answer.distances[q * answer.width + i], cell);
      }
    }
    this.scoreDirty(tops, queries, norms);
    offerZeroRows(tops, this.store, k);
    const out = new Int32Array(queryCount * k);
    tops.forEach((top, q) => out.set(top.cells, q * k));
    return out;
  }

  /** Whether the search asked ahead is for these queries and k, under the current dirty rows. */
  private askedFor(queries: Float32Array, k: number): boolean {
    const asked = this.asked;
    return (
      asked?.current === true &&
      asked.k === k &&
      asked.queries.length === queries.length &&
      asked.queries.every((value, i) => value === queries[i])
    );
  }

  /** The asked search's answer; a graph thread that failed is replaced by a graph rebuilt here, asked again. */
  private collect(queries: Float32Array, queryCount: number, k: number): AskedSearch & { answer: GraphAnswer } {
    const asked = this.asked as AskedSearch;
    this.asked = null;
    try {
      return { ...asked, answer: this.host.answer() };
    } catch (error) {
      if (!(error instanceof GraphThreadError)) throw error;
      this.rebuildHere(error);
      const again = this.askGraph(queries, queryCount, k);
      return { ...again, answer: this.host.answer() };
    }
  }

  /** Collect and drop an answer nobody will use, so the host has no search outstanding. */
  private dropAsked(): void {
    if (this.asked === null) return;
    this.asked = null;
    try {
      this.host.answer();
    } catch (error) {
      if (!(error instanceof GraphThreadError)) throw error;
      this.rebuildHere(error);
    }
  }

  /** The graph's thread failed: rebuild the graph in this thread from the row store (nothing is lost). */
  private rebuildHere(error: GraphThreadError): void {
    console.warn(`[engram] ${error.message}; this sparse memory's HNSW graph is rebuilt in the calling thread`);
    for (const cell of this.everAdded) this.dirty.add(cell);
    this.everAdded.clear();
    this.present.clear();
    this.capacity = INITIAL_CAPACITY;
    this.asked = null;
    this.host = new LocalGraph(this.library, this.shape());
    this.flush();
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
    if (this.asked !== null) this.asked.current = false;
  }

  /**
   * The build of this graph from scratch that its next flush would do: only while nothing was ever added and at
   * least `BULK_BUILD_MIN_ROWS` written rows wait (a seeded or restored memory). Same rows, order, seed and
   * capacity as `flush`, so the built graph is the one `flush` would build.
   */
  bulkBuildJob(): GraphBuild | null {
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
      ...this.shape(),
      capacity,
      rows: rows.subarray(0, labels.length * width),
      labels: Int32Array.from(labels),
    };
  }

  /**
   * Build the graph from `bulkBuildJob()` in one go, on the graph's thread (a worker builds while the caller goes
   * on; the first search waits for it). Whether a build was started.
   */
  startBulkBuild(): boolean {
    const job = this.bulkBuildJob();
    if (job === null) return false;
    this.dropAsked();
    this.host.build(job);
    this.capacity = job.capacity;
    for (const cell of job.labels) {
      this.everAdded.add(cell);
      this.present.add(cell);
    }
    this.dirty.clear();
    return true;
  }

  /** Bring the graph up to date with the dirty rows, in place. */
  flush(): void {
    if (this.dirty.size === 0) return;
    this.dropAsked();
    const width = this.store.cellSize;
    const rows = new Float32Array(this.dirty.size * width);
    const labels: number[] = [];
    const recheck: number[] = [];
    const deletes: number[] = [];
    for (const cell of this.dirty) {
      if (this.readNonZero(cell, rows, labels.length * width)) {
        // Rows restored by a rollback usually hold what the graph already has: the graph skips re-inserting them.
        recheck.push(this.present.has(cell) ? 1 : 0);
        labels.push(cell);
        if (!this.everAdded.has(cell) && this.everAdded.size >= this.capacity) this.capacity *= 2;
        this.everAdded.add(cell);
        this.present.add(cell);
      } else if (this.present.has(cell)) {
        // A zero row has no direction under cosine distance; zero rows are found by index order instead.
        deletes.push(cell);
        this.present.delete(cell);
      }
    }
    this.host.update({
      rows: rows.subarray(0, labels.length * width),
      labels: Int32Array.from(labels),
      recheck: Uint8Array.from(recheck),
      deletes: Int32Array.from(deletes),
      capacity: this.capacity,
    });
    this.dirty.clear();
  }

  /** Read `cell`'s row into `out` at `offset`; whether it is a written, non-zero row (one the graph must hold). */
  private readNonZero(cell: number, out: Float32Array, offset: number): boolean {
    this.store.readInto(cell, out, offset);
    return (
      this.store.isWritten(cell) && out.subarray(offset, offset + this.store.cellSize).some((value) => value !== 0)
    );
  }

  clear(): void {
    this.forget();
    this.host.reset(this.shape());
  }

  dispose(): void {
    this.forget();
    this.host.dispose();
  }

  /** Drop the search asked ahead and every cell the index knew of. */
  private forget(): void {
    this.dropAsked();
    this.present.clear();
    this.everAdded.clear();
    this.dirty.clear();
    this.capacity = INITIAL_CAPACITY;
  }

  private shape(): GraphShape {
    return {
      cellSize: this.store.cellSize,
      capacity: this.capacity,
      degree: HNSW_DEGREE,
      constructionBreadth: HNSW_CONSTRUCTION_BREADTH,
      searchBreadth: HNSW_SEARCH_BREADTH,
      seed: this.options.seed,
    };
  }
}
