/**
 * How a sparse memory's host stores are tied to its state tensors. The module owns one `ElementStore` per batch
 * element; a state carries a history id (`history`, int32 per batch row). Each step records an exact undo of its
 * host changes and gives the new state a fresh id. A step called with an older state first undoes the steps
 * made after it — so re-running a sequence from its start (finite differences, a second forward pass, an
 * episode reset) sees exactly the memory that state saw, and `initialState` undoes back to the empty memory in
 * O(rows written), never O(N). A state whose id is no longer on the stack (superseded by another branch) is
 * rejected with an error instead of silently reading the wrong memory.
 */
import { ElementStore, type ElementStoreConfig, type ElementUndo } from './element-store';

let nextHistoryId = 1;

interface HistoryEntry {
  readonly id: number;
  readonly undos: ElementUndo[];
}

export class SparseHistory {
  readonly elements: ElementStore[];
  private entries: HistoryEntry[] = [];
  private rootId = 0;
  private currentId = 0;
  /** Steps since the empty memory (the journal stamps count in these). */
  depth = 0;
  /** True when old undo entries were dropped; the root is then reachable only by clearing. */
  private truncated = false;

  constructor(
    readonly batchSize: number,
    config: ElementStoreConfig,
    private readonly maxUndoSteps: number,
  ) {
    this.elements = Array.from({ length: batchSize }, (_, b) => new ElementStore({ ...config, seed: config.seed + b }));
  }

  /** Back to the empty memory; returns the new root's id. */
  reset(): number {
    if (this.truncated) {
      for (const element of this.elements) element.clear();
      this.entries = [];
      this.truncated = false;
    } else {
      this.undoAfter(-1);
    }
    this.depth = 0;
    this.rootId = nextHistoryId++;
    this.currentId = this.rootId;
    return this.rootId;
  }

  /** Make the host stores match the state with history id `id`. */
  rollbackTo(id: number, caller: string): void {
    if (id === this.currentId) return;
    if (id === this.rootId && !this.truncated) {
      this.undoAfter(-1);
      this.depth = 0;
      this.currentId = id;
      return;
    }
    const position = this.entries.findIndex((entry) => entry.id === id);
    if (position < 0) {
      throw new Error(
        `${caller}: state 'history' ${id} is not on this memory's history (current ${this.currentId}); ` +
          'a sparse memory follows one sequence of states at a time — start again from initialState()',
      );
    }
    this.depth -= this.entries.length - 1 - position;
    this.undoAfter(position);
    this.currentId = id;
  }

  /** True at the empty-memory root: no step has been taken since the last reset. */
  get atRoot(): boolean {
    return this.entries.length === 0 && this.currentId === this.rootId;
  }

  /** Record a step's undos; returns the new state's id. */
  push(undos: ElementUndo[]): number {
    const id = nextHistoryId++;
    this.entries.push({ id, undos });
    this.depth++;
    this.currentId = id;
    if (this.entries.length > this.maxUndoSteps) {
      this.entries.shift();
      this.truncated = true;
    }
    return id;
  }

  dispose(): void {
    for (const element of this.elements) element.dispose();
  }

  private undoAfter(position: number): void {
    while (this.entries.length - 1 > position) {
      const entry = this.entries.pop();
      if (entry === undefined) break;
      entry.undos.forEach((undo, b) => this.elements[b].undo(undo));
    }
  }
}
