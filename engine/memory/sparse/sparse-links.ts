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

function toMap(row: SparseRow | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (row) row.cells.forEach((cell, i) => out.set(cell, row.values[i]));
  return out;
}

/** Keep the `limit` largest entries (ties: lower cell), dropping values under LINK_FLOOR. */
function toRow(entries: Map<number, number>, limit: number): SparseRow | undefined {
  const kept = [...entries].filter(([, value]) => value > LINK_FLOOR);
  kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  kept.length = Math.min(kept.length, limit);
  if (kept.length === 0) return undefined;
  return { cells: Int32Array.from(kept, ([cell]) => cell), values: Float32Array.from(kept, ([, value]) => value) };
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
    const prevPrecedence = toMap(this.precedence);
    const changed = new Map<number, Map<number, number>>();
    const setPair = (i: number, j: number, value: number): void => {
      if (!changed.has(i)) changed.set(i, new Map());
      changed.get(i)?.set(j, value);
    };
    // Rows of written cells: decay every kept entry and add the new links to the previous precedence.
    for (const [i, writeI] of write) {
      const row = toMap(this.forward.get(i));
      for (const j of prevPrecedence.keys()) if (!row.has(j)) row.set(j, 0);
      for (const [j, value] of row) {
        if (j === i) continue;
        setPair(i, j, (1 - writeI - (write.get(j) ?? 0)) * value + writeI * (prevPrecedence.get(j) ?? 0));
      }
    }
    // Columns of written cells in rows that were not written: only the (1 − w_j) decay applies.
    for (const [j, writeJ] of write) {
      for (const [i, value] of toMap(this.backward.get(j))) {
        if (!write.has(i) && i !== j) setPair(i, j, (1 - writeJ) * value);
      }
    }
    const backwardChanges = new Map<number, Map<number, number>>();
    for (const [i, entries] of changed) {
      if (!undo.forward.has(i)) undo.forward.set(i, this.forward.get(i));
      const row = toMap(this.forward.get(i));
      for (const [j, value] of entries) {
        row.set(j, value);
        if (!backwardChanges.has(j)) backwardChanges.set(j, new Map());
        backwardChanges.get(j)?.set(i, value);
      }
      this.replace(this.forward, i, toRow(row, this.linksPerCell));
    }
    for (const [j, entries] of backwardChanges) {
      if (!undo.backward.has(j)) undo.backward.set(j, this.backward.get(j));
      const column = toMap(this.backward.get(j));
      for (const [i, value] of entries) column.set(i, value);
      this.replace(this.backward, j, toRow(column, this.linksPerCell));
    }
    const writeSum = [...write.values()].reduce((a, b) => a + b, 0);
    const nextPrecedence = new Map<number, number>();
    for (const [cell, value] of prevPrecedence) nextPrecedence.set(cell, (1 - writeSum) * value);
    for (const [cell, value] of write) nextPrecedence.set(cell, (nextPrecedence.get(cell) ?? 0) + value);
    this.precedence = toRow(nextPrecedence, this.precedenceSize) ?? EMPTY_ROW;
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
