/**
 * Exact k-nearest-neighbour search for the sparse memories (Rae et al. 2016 use exact search as the reference the
 * approximate indices are measured against). It scans only the rows that were ever written — all others are zero
 * and score 0, handled in index order — so its cost is O(written rows · W · queries), never O(N) for a memory an
 * episode barely touched, and it needs no update when rows change: it always reads the current row store.
 */
import { COSINE_EPSILON } from '../../../util/constants';
import type { RowStore } from '../row-store';
import { offerZeroRows, queryNorm, rowDots, rowDotsPair, TopCells, type CellIndex } from './types';

export class ExactIndex implements CellIndex {
  readonly kind = 'exact' as const;

  constructor(private readonly store: RowStore) {}

  search(queries: Float32Array, queryCount: number, k: number): Int32Array {
    const width = this.store.cellSize;
    const tops = Array.from({ length: queryCount }, () => new TopCells(k));
    const norms = Float64Array.from({ length: queryCount }, (_, q) => queryNorm(queries, q, width));
    const dots = new Float64Array(queryCount);
    const otherDots = new Float64Array(queryCount);
    // A local: an imported binding is a getter call per read in tsx's CommonJS output.
    const epsilon = COSINE_EPSILON;
    const offer = (cell: number, rowDotValues: Float64Array): void => {
      const rowNorm = this.store.rowNorm(cell);
      for (let q = 0; q < queryCount; q++) {
        const score = rowDotValues[q] / (rowNorm * norms[q] + epsilon);
        if (tops[q].accepts(score, cell)) tops[q].offer(score, cell);
      }
    };
    // Rows two at a time (each query value loaded once per pair), offered in written order as one at a time.
    let pending = -1;
    let pendingPage: Float32Array | undefined;
    for (let i = 0; i < this.store.writtenRowCount; i++) {
      const cell = this.store.writtenCell(i);
      const page = this.store.pageOf(cell);
      if (page === undefined) continue;
      if (pendingPage === undefined) {
        pending = cell;
        pendingPage = page;
        continue;
      }
      const offset = this.store.rowOffset(cell);
      rowDotsPair(
        pendingPage,
        this.store.rowOffset(pending),
        page,
        offset,
        queries,
        queryCount,
        width,
        dots,
        otherDots,
      );
      offer(pending, dots);
      offer(cell, otherDots);
      pendingPage = undefined;
    }
    if (pendingPage !== undefined) {
      rowDots(pendingPage, this.store.rowOffset(pending), queries, queryCount, width, dots);
      offer(pending, dots);
    }
    offerZeroRows(tops, this.store, k);
    const out = new Int32Array(queryCount * k);
    tops.forEach((top, q) => out.set(top.cells, q * k));
    return out;
  }

  markDirty(): void {
    // Nothing cached: every search reads the row store.
  }

  clear(): void {}

  dispose(): void {}
}
