/**
 * Least-recently-used bookkeeping for the sparse memories (Rae et al. 2016, §3.3 "Write": the usage U_t counts
 * the steps since a row was last accessed, and the write head allocates to the row with the largest count, the
 * least recently used one). Instead of an argmin over all N access times per step, cells sit in a doubly linked
 * list ordered by access time: touching a cell moves it to the tail in O(1), the head is the LRU cell. Cells never
 * touched keep index order, so ties go to the lowest cell index, as in the dense DNC's stable allocation sort.
 * Every move is recorded so a rollback (episode reset, BPTT re-run) restores the list exactly.
 */

/** One recorded move: enough to put `cell` back after `prevNeighbour` with its old access time. */
export interface LruMove {
  readonly cell: number;
  readonly prevNeighbour: number;
  readonly prevTime: number;
}

/** Access-time ordered list of N cells; time 0 means "never accessed". */
export class LruList {
  private readonly before: Int32Array;
  private readonly after: Int32Array;
  /** Step at which each cell was last accessed (0 = never). */
  readonly accessTime: Int32Array;
  private head = 0;
  private tail: number;

  constructor(readonly memorySize: number) {
    this.before = new Int32Array(memorySize);
    this.after = new Int32Array(memorySize);
    this.accessTime = new Int32Array(memorySize);
    this.tail = memorySize - 1;
    this.clear();
  }

  /** Back to "nothing accessed": cells in index order. O(N); used only when no undo log can do it. */
  clear(): void {
    for (let cell = 0; cell < this.memorySize; cell++) {
      this.before[cell] = cell - 1;
      this.after[cell] = cell + 1 < this.memorySize ? cell + 1 : -1;
    }
    this.accessTime.fill(0);
    this.head = 0;
    this.tail = this.memorySize - 1;
  }

  /** The least recently used cell (lowest index among never-accessed ones). */
  leastUsed(): number {
    return this.head;
  }

  /**
   * Mark `cells` accessed at `time`, in ascending cell order so equal times keep index order. Appends the moves
   * to `log` for `undo`.
   */
  touch(cells: readonly number[], time: number, log: LruMove[]): void {
    const sorted = [...cells].sort((a, b) => a - b);
    for (const cell of sorted) {
      log.push({ cell, prevNeighbour: this.before[cell], prevTime: this.accessTime[cell] });
      this.unlink(cell);
      this.insertAfter(cell, this.tail);
      this.accessTime[cell] = time;
    }
  }

  /** Undo moves recorded by `touch`, newest first; exact because each undone cell is at the tail again. */
  undo(log: readonly LruMove[]): void {
    for (let i = log.length - 1; i >= 0; i--) {
      const move = log[i];
      this.unlink(move.cell);
      this.insertAfter(move.cell, move.prevNeighbour);
      this.accessTime[move.cell] = move.prevTime;
    }
  }

  /** Cells from least to most recently used; for tests and small debug views. O(N). */
  order(): number[] {
    const out: number[] = [];
    for (let cell = this.head; cell !== -1; cell = this.after[cell]) out.push(cell);
    return out;
  }

  private unlink(cell: number): void {
    const previous = this.before[cell];
    const next = this.after[cell];
    if (previous === -1) this.head = next;
    else this.after[previous] = next;
    if (next === -1) this.tail = previous;
    else this.before[next] = previous;
  }

  /** Insert `cell` after `neighbour`, or at the head when `neighbour` is −1. */
  private insertAfter(cell: number, neighbour: number): void {
    const next = neighbour === -1 ? this.head : this.after[neighbour];
    this.before[cell] = neighbour;
    this.after[cell] = next;
    if (neighbour === -1) this.head = cell;
    else this.after[neighbour] = cell;
    if (next === -1) this.tail = cell;
    else this.before[next] = cell;
  }
}
