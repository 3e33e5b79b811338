/**
 * The nearest-neighbour index behind the sparse memories' content reads (Rae et al. 2016, §3.5 "Efficient
 * backward pass" and §3.4: reads attend only to the K rows most similar to the key, found by an approximate
 * nearest-neighbour index over memory rows). One index serves one batch element. Both kinds answer the same
 * question — the K cells whose rows have the largest cosine similarity to each query — and both count rows that
 * were written since their last update, and all-zero (never written) rows, which score exactly 0.
 */
import { COSINE_EPSILON } from '../../../util/constants';
import type { RowStore } from '../row-store';

/** Which index a sparse memory uses; `auto` picks exact up to `EXACT_INDEX_MAX_CELLS` cells and hnsw above. */
export type IndexType = 'exact' | 'hnsw' | 'auto';

/** Up to this many cells `auto` uses exact search (stack-notes: exact wins below ≈1e5 cells). */
export const EXACT_INDEX_MAX_CELLS = 100_000;

export interface CellIndex {
  readonly kind: 'exact' | 'hnsw';
  /**
   * For each of `queryCount` queries (`queries` is `[queryCount, W]` row-major), the `k` best cells best-first,
   * written to a `[queryCount, k]` array; −1 pads when N < k.
   */
  search(queries: Float32Array, queryCount: number, k: number): Int32Array;
  /** Row `cell` changed in the row store (written or restored); the index must account for it. */
  markDirty(cell: number): void;
  /** The row store was cleared: forget everything. */
  clear(): void;
  dispose(): void;
}

/** Cosine similarity as the tape computes it (pytorch-dnc's ε placement), for ranking on the host. */
export function hostCosine(
  row: Float32Array,
  rowOffset: number,
  query: Float32Array,
  queryOffset: number,
  width: number,
  queryNorm: number,
): number {
  let dot = 0;
  let rowSquared = 0;
  for (let i = 0; i < width; i++) {
    const value = row[rowOffset + i];
    dot += value * query[queryOffset + i];
    rowSquared += value * value;
  }
  return dot / (Math.sqrt(rowSquared) * queryNorm + COSINE_EPSILON);
}

/** Running top-k of (score, cell), best first; ties go to the lower cell index. */
export class TopCells {
  readonly cells: Int32Array;
  readonly scores: Float64Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.cells = new Int32Array(capacity).fill(-1);
    this.scores = new Float64Array(capacity).fill(-Infinity);
  }

  /** Would (score, cell) enter the list? */
  accepts(score: number, cell: number): boolean {
    if (this.size < this.capacity) return true;
    const worst = this.scores[this.capacity - 1];
    return score > worst || (score === worst && cell < this.cells[this.capacity - 1]);
  }

  offer(score: number, cell: number): void {
    if (!this.accepts(score, cell)) return;
    let position = Math.min(this.size, this.capacity - 1);
    while (position > 0) {
      const s = this.scores[position - 1];
      const c = this.cells[position - 1];
      if (s > score || (s === score && c < cell)) break;
      this.scores[position] = s;
      this.cells[position] = c;
      position--;
    }
    this.scores[position] = score;
    this.cells[position] = cell;
    if (this.size < this.capacity) this.size++;
  }
}

/**
 * Offer the never-written cells (rows exactly zero, cosine 0) in index order: only the first `k` of them can make
 * any top-k, because later ones tie with them at a higher index.
 */
export function offerZeroRows(tops: readonly TopCells[], store: RowStore, k: number): void {
  let cell = store.nextUnwritten(0);
  for (let offered = 0; offered < k && cell >= 0; offered++) {
    for (const top of tops) top.offer(0, cell);
    cell = store.nextUnwritten(cell + 1);
  }
}

/** Euclidean norm of query `q` in `[count, W]` row-major `queries`. */
export function queryNorm(queries: Float32Array, q: number, width: number): number {
  let sum = 0;
  for (let i = 0; i < width; i++) sum += queries[q * width + i] ** 2;
  return Math.sqrt(sum);
}

/**
 * The dot product of one row with every query, into `dots` (`queries` is `[count, W]`). Queries go four at a time
 * so each row value is loaded once per four products; every sum still runs over the row in index order, so the
 * results are the same numbers as one loop per query.
 */
export function rowDots(
  page: Float32Array,
  offset: number,
  queries: Float32Array,
  queryCount: number,
  width: number,
  dots: Float64Array,
): void {
  let q = 0;
  for (; q + 4 <= queryCount; q += 4) {
    const a = q * width;
    const b = a + width;
    const c = b + width;
    const d = c + width;
    let dotA = 0;
    let dotB = 0;
    let dotC = 0;
    let dotD = 0;
    for (let j = 0; j < width; j++) {
      const value = page[offset + j];
      dotA += value * queries[a + j];
      dotB += value * queries[b + j];
      dotC += value * queries[c + j];
      dotD += value * queries[d + j];
    }
    dots[q] = dotA;
    dots[q + 1] = dotB;
    dots[q + 2] = dotC;
    dots[q + 3] = dotD;
  }
  for (; q < queryCount; q++) {
    let dot = 0;
    for (let j = 0; j < width; j++) dot += page[offset + j] * queries[q * width + j];
    dots[q] = dot;
  }
}

/**
 * `rowDots` for two rows at once (into `dots` and `otherDots`): each query value is loaded once per two rows, ≈1.5×
 * faster than two calls. Every sum runs over its row in index order as in `rowDots`, so the results are the same.
 */
export function rowDotsPair(
  page: Float32Array,
  offset: number,
  otherPage: Float32Array,
  otherOffset: number,
  queries: Float32Array,
  queryCount: number,
  width: number,
  dots: Float64Array,
  otherDots: Float64Array,
): void {
  let q = 0;
  for (; q + 4 <= queryCount; q += 4) {
    const a = q * width;
    const b = a + width;
    const c = b + width;
    const d = c + width;
    let dotA = 0;
    let dotB = 0;
    let dotC = 0;
    let dotD = 0;
    let otherA = 0;
    let otherB = 0;
    let otherC = 0;
    let otherD = 0;
    for (let j = 0; j < width; j++) {
      const value = page[offset + j];
      const other = otherPage[otherOffset + j];
      const queryA = queries[a + j];
      const queryB = queries[b + j];
      const queryC = queries[c + j];
      const queryD = queries[d + j];
      dotA += value * queryA;
      dotB += value * queryB;
      dotC += value * queryC;
      dotD += value * queryD;
      otherA += other * queryA;
      otherB += other * queryB;
      otherC += other * queryC;
      otherD += other * queryD;
    }
    dots[q] = dotA;
    dots[q + 1] = dotB;
    dots[q + 2] = dotC;
    dots[q + 3] = dotD;
    otherDots[q] = otherA;
    otherDots[q + 1] = otherB;
    otherDots[q + 2] = otherC;
    otherDots[q + 3] = otherD;
  }
  for (; q < queryCount; q++) {
    let dot = 0;
    let otherDot = 0;
    for (let j = 0; j < width; j++) {
      dot += page[offset + j] * queries[q * width + j];
      otherDot += otherPage[otherOffset + j] * queries[q * width + j];
    }
    dots[q] = dot;
    otherDots[q] = otherDot;
  }
}
