/**
 * Sparse temporal links of the SDNC (Rae et al. 2016, §3.6 and Supplementary C): the DNC's link matrix
 * L_t[i,j] = (1 − w_i − w_j)·L_{t−1}[i,j] + w_i·p_{t−1}[j] with a zero diagonal, and the precedence
 * p_t = (1 − Σ_i w_i)·p_{t−1} + w_t, where w is the write weighting — but each row of L (and, kept separately as
 * the paper does, each row of Lᵀ) holds at most K_L entries and p at most a few, so a step costs
 * O(K·K_L) instead of O(N²). Link values feed the tape as constants for the visible cells and the update on the
 * visible set is recomputed there; the precedence's positions come from here, its values from the state.
 */

/** An immutable sparse row: `cells[i]` holds `values[i]`. Replaced, never mutated, so undo restores references. */
export interface SparseRow {
  readonly cells: Int32Array;
  readonly values: Float32Array;
}

/** Link values below this are dropped: they are float32 noise of repeated (1 − w) decays. */
const LINK_FLOOR = 1e-7;

const EMPTY_ROW: SparseRow = { cells: new Int32Array(0), values: new Float32Array(0) };

/** What one update replaced, for `undo`. */
export interface LinkUndo {
  readonly forward: Map<number, SparseRow | undefined>;
  readonly backward: Map<number, SparseRow | undefined>;
  readonly precedence: SparseRow;
}

/**
 * The running top list of `mergeRow`, reused across calls (host code is single-threaded and `mergeRow` does not
 * nest): rows hold a few entries and a step changes some hundred of them, so fresh arrays per row cost more than the
 * merge itself.
 */
let topCells = new Int32Array(32);
let topValues = new Float64Array(32);

/**
 * Offer (cell, value) to the top list of `size` entries kept to `limit`, largest first (ties: lower cell), dropping
 * values under LINK_FLOOR; returns the new size.
 */
function offerTop(size: number, limit: number, cell: number, value: number): number {
  if (!(value > LINK_FLOOR)) return size;
  let position = size;
  while (position > 0) {
    const before = topValues[position - 1];
    if (before > value || (before === value && topCells[position - 1] < cell)) break;
    position--;
  }
  if (position >= limit) return size;
  for (let m = Math.min(size, limit - 1); m > position; m--) {
    topCells[m] = topCells[m - 1];
    topValues[m] = topValues[m - 1];
  }
  topCells[position] = cell;
  topValues[position] = value;
  return size < limit ? size + 1 : size;
}

/**
 * Row `old` with the entries of `changes` set (added or replaced), cut to its `limit` largest entries (ties: lower
 * cell) over LINK_FLOOR; undefined when none is left. A running insertion instead of a sort of every entry.
 */
function mergeRow(old: SparseRow | undefined, changes: Map<number, number>, limit: number): SparseRow | undefined {
  if (topCells.length < limit) {
    topCells = new Int32Array(limit);
    topValues = new Float64Array(limit);
  }
  let size = 0;
  if (old) {
    for (let n = 0; n < old.cells.length; n++) {
      if (!changes.has(old.cells[n])) size = offerTop(size, limit, old.cells[n], old.values[n]);
    }
  }
  for (const [cell, value] of changes) size = offerTop(size, limit, cell, value);
  if (size === 0) return undefined;
  return { cells: topCells.slice(0, size), values: Float32Array.from(topValues.subarray(0, size)) };
}

/** The value of `cell` in `row`, 0 when absent. */
function valueIn(row: SparseRow | undefined, cell: number): number {
  if (!row) return 0;
  const n = row.cells.indexOf(cell);
  return n < 0 ? 0 : row.values[n];
}

export class SparseLinks {
  /** Row i of L: L[i, j] for the kept j (i was written after j). */
  readonly forward = new Map<number, SparseRow>();
  /** Row j of Lᵀ: L[i, j] for the kept i. */
  readonly backward = new Map<number, SparseRow>();
  precedence: SparseRow = EMPTY_ROW;

  constructor(
    /** K_L: entries kept per row of L and of Lᵀ. */
    readonly linksPerCell: number,
    /** Entries kept in the precedence p. */
    readonly precedenceSize: number,
  ) {}

  /** L[from, to] as kept in the forward rows (0 when absent). */
  link(from: number, to: number): number {
    const row = this.forward.get(from);
    if (!row) return 0;
    const i = row.cells.indexOf(to);
    return i < 0 ? 0 : row.values[i];
  }

  precedenceOf(cell: number): number {
    const i = this.precedence.cells.indexOf(cell);
    return i < 0 ? 0 : this.precedence.values[i];
  }

  /** Apply one step's write weighting (`cells[i]` written with `weights[i]`, all other cells 0); returns the undo. */
  update(cells: readonly number[], weights: readonly number[]): LinkUndo {
    const undo: LinkUndo = { forward: new Map(), backward: new Map(), precedence: this.precedence };
    const write = new Map<number, number>();
    cells.forEach((cell, i) => {
      if (weights[i] > 0) write.set(cell, (write.get(cell) ?? 0) + weights[i]);
    });
    const prevPrecedence = this.precedence;
    // New values of L[i, j] by row i (each pair set once).
    const changed = new Map<number, Map<number, number>>();
    const rowOf = (i: number): Map<number, number> => {
      let row = changed.get(i);
      if (row === undefined) {
        row = new Map();
        changed.set(i, row);
      }
      return row;
    };
    // Rows of written cells: decay every kept entry and add the new links to the previous precedence.
    for (const [i, writeI] of write) {
      const old = this.forward.get(i);
      const row = rowOf(i);
      if (old) {
        for (let n = 0; n < old.cells.length; n++) {
          const j = old.cells[n];
          if (j === i) continue;
          row.set(j, (1 - writeI - (write.get(j) ?? 0)) * old.values[n] + writeI * valueIn(prevPrecedence, j));
        }
      }
      for (let n = 0; n < prevPrecedence.cells.length; n++) {
        const j = prevPrecedence.cells[n];
        if (j === i || old?.cells.includes(j)) continue;
        row.set(j, writeI * prevPrecedence.values[n]);
      }
    }
    // Columns of written cells in rows that were not written: only the (1 − w_j) decay applies.
    for (const [j, writeJ] of write) {
      const column = this.backward.get(j);
      if (!column) continue;
      for (let n = 0; n < column.cells.length; n++) {
        const i = column.cells[n];
        if (!write.has(i) && i !== j) rowOf(i).set(j, (1 - writeJ) * column.values[n]);
      }
    }
    const backwardChanges = new Map<number, Map<number, number>>();
    for (const [i, entries] of changed) {
      if (!undo.forward.has(i)) undo.forward.set(i, this.forward.get(i));
      for (const [j, value] of entries) {
        let column = backwardChanges.get(j);
        if (column === undefined) {
          column = new Map();
          backwardChanges.set(j, column);
        }
        column.set(i, value);
      }
      this.replace(this.forward, i, mergeRow(this.forward.get(i), entries, this.linksPerCell));
    }
    for (const [j, entries] of backwardChanges) {
      if (!undo.backward.has(j)) undo.backward.set(j, this.backward.get(j));
      this.replace(this.backward, j, mergeRow(this.backward.get(j), entries, this.linksPerCell));
    }
    let writeSum = 0;
    for (const value of write.values()) writeSum += value;
    const nextPrecedence = new Map<number, number>();
    for (let n = 0; n < prevPrecedence.cells.length; n++)
      nextPrecedence.set(prevPrecedence.cells[n], (1 - writeSum) * prevPrecedence.values[n]);
    for (const [cell, value] of write) nextPrecedence.set(cell, (nextPrecedence.get(cell) ?? 0) + value);
    this.precedence = mergeRow(undefined, nextPrecedence, this.precedenceSize) ?? EMPTY_ROW;
    return undo;
  }

  undo(log: LinkUndo): void {
    for (const [cell, row] of log.forward) this.replace(this.forward, cell, row);
    for (const [cell, row] of log.backward) this.replace(this.backward, cell, row);
    this.precedence = log.precedence;
  }

  clear(): void {
    this.forward.clear();
    this.backward.clear();
    this.precedence = EMPTY_ROW;
  }

  /**
   * Cells most worth making visible for the forward and backward weightings of one head whose previous read
   * weights are `weights` at `cells`: f[i] = Σ_j L[i,j]·w[j] (through Lᵀ rows) and b[j] = Σ_i w[i]·L[i,j] (through L
   * rows, plus the links a write to i would add to the precedence). Returns up to `limit` of each, best first.
   */
  temporalCandidates(
    cells: ArrayLike<number>,
    weights: ArrayLike<number>,
    limit: number,
  ): { forward: number[]; backward: number[] } {
    const forwardScore = new Map<number, number>();
    const backwardScore = new Map<number, number>();
    for (let k = 0; k < cells.length; k++) {
      const cell = cells[k];
      const weight = weights[k];
      if (cell < 0 || !(weight > 0)) continue;
      const column = this.backward.get(cell);
      column?.cells.forEach((i, n) => forwardScore.set(i, (forwardScore.get(i) ?? 0) + weight * column.values[n]));
      const row = this.forward.get(cell);
      row?.cells.forEach((j, n) => backwardScore.set(j, (backwardScore.get(j) ?? 0) + weight * row.values[n]));
      this.precedence.cells.forEach((j, n) => {
        if (j !== cell) backwardScore.set(j, (backwardScore.get(j) ?? 0) + weight * this.precedence.values[n]);
      });
    }
    const best = (scores: Map<number, number>): number[] =>
      [...scores]
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, limit)
        .map(([cell]) => cell);
    return { forward: best(forwardScore), backward: best(backwardScore) };
  }

  private replace(map: Map<number, SparseRow>, cell: number, row: SparseRow | undefined): void {
    if (row === undefined) map.delete(cell);
    else map.set(cell, row);
  }
}
