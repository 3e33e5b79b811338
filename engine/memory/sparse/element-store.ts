/**
 * Everything a sparse memory keeps on the host for one batch element (Rae et al. 2016, §3): the memory rows, the
 * least-recently-used order, the nearest-neighbour index, the SDNC's sparse links, the read positions of the last
 * step, and which rows have a differentiable copy in the state's journal. `apply` performs one step's host
 * updates and returns an exact undo record; `undo` reverts it. The tape never sees these arrays directly: the
 * step gathers the visible rows into small tensors (see `visible-set.ts`).
 */
import type { CellIndex, IndexType } from './index/types';
import { createCellIndex } from './index/create-index';
import { LruList, type LruMove } from './lru-list';
import { RowStore, type RowOverwrite } from './row-store';
import { SparseLinks, type LinkUndo } from './sparse-links';
import { precedenceSizeFor } from './visible-set';

export interface ElementStoreConfig {
  readonly memorySize: number;
  readonly cellSize: number;
  readonly readHeads: number;
  /** K: read positions kept per head between steps. */
  readonly sparseReads: number;
  /** K_L, or 0 for SAM (no links). */
  readonly temporalReads: number;
  readonly indexType: IndexType;
  readonly indexFlushRows: number;
  readonly seed: number;
}

/** One step's host changes for one element, as computed by the tape and read back once. */
export interface ElementStepResult {
  /** Written cells and their new rows (`[cells.length, W]` row-major) and write weights. */
  readonly writeCells: readonly number[];
  readonly writeRows: Float32Array;
  readonly writeWeights: readonly number[];
  /** Cells whose read or write weight exceeded the access threshold δ this step. */
  readonly accessedCells: readonly number[];
  /** New read positions and weights, `[R, K]` row-major. */
  readonly readPositions: Int32Array;
  readonly readWeights: Float32Array;
  /** History depth after this step, and the write slot of each written cell in the journal append. */
  readonly depth: number;
  readonly journalSlots: readonly number[];
}

export interface ElementUndo {
  readonly rows: RowOverwrite[];
  readonly lru: LruMove[];
  readonly journal: { cell: number; previous: number | undefined }[];
  readonly links: LinkUndo | null;
  readonly readPositions: Int32Array;
  readonly readWeights: Float32Array;
}

export class ElementStore {
  readonly rows: RowStore;
  readonly lru: LruList;
  readonly index: CellIndex;
  readonly links: SparseLinks | null;
  /** cell → depth·writeSlots + slot of its latest differentiable copy (see `journalSlot`). */
  readonly journalStamps = new Map<number, number>();
  readPositions: Int32Array;
  readWeights: Float32Array;

  constructor(readonly config: ElementStoreConfig) {
    this.rows = new RowStore(config.memorySize, config.cellSize);
    this.lru = new LruList(config.memorySize);
    this.index = createCellIndex(config.indexType, this.rows, { flushRows: config.indexFlushRows, seed: config.seed });
    const readSlots = config.readHeads * config.sparseReads;
    this.links =
      config.temporalReads > 0
        ? new SparseLinks(config.temporalReads, precedenceSizeFor(config.readHeads, config.sparseReads))
        : null;
    this.readPositions = new Int32Array(readSlots).fill(-1);
    this.readWeights = new Float32Array(readSlots);
  }

  /**
   * Where the differentiable copy of `cell` sits in a journal of `journalRows` rows when the history is at
   * `depth`, or −1 when it has none (never written, or written too long ago: then the host row is used, and the
   * gradient into that old write is truncated).
   */
  journalSlot(cell: number, depth: number, writeSlots: number, journalRows: number): number {
    const stamp = this.journalStamps.get(cell);
    if (stamp === undefined) return -1;
    const writtenAt = Math.floor(stamp / writeSlots);
    const slot = (depth - writtenAt) * writeSlots + (stamp % writeSlots);
    return slot < journalRows ? slot : -1;
  }

  apply(step: ElementStepResult, time: number, writeSlots: number): ElementUndo {
    const undo: ElementUndo = {
      rows: [],
      lru: [],
      journal: [],
      links: null,
      readPositions: this.readPositions,
      readWeights: this.readWeights,
    };
    const width = this.config.cellSize;
    step.writeCells.forEach((cell, i) => {
      undo.rows.push(this.rows.write(cell, step.writeRows, i * width));
      this.index.markDirty(cell);
      undo.journal.push({ cell, previous: this.journalStamps.get(cell) });
      this.journalStamps.set(cell, step.depth * writeSlots + step.journalSlots[i]);
    });
    this.lru.touch(step.accessedCells, time, undo.lru);
    const links = this.links === null ? null : this.links.update(step.writeCells, step.writeWeights);
    this.readPositions = step.readPositions;
    this.readWeights = step.readWeights;
    return { ...undo, links };
  }

  undo(record: ElementUndo): void {
    for (let i = record.rows.length - 1; i >= 0; i--) {
      this.rows.restore(record.rows[i]);
      this.index.markDirty(record.rows[i].cell);
    }
    for (let i = record.journal.length - 1; i >= 0; i--) {
      const { cell, previous } = record.journal[i];
      if (previous === undefined) this.journalStamps.delete(cell);
      else this.journalStamps.set(cell, previous);
    }
    this.lru.undo(record.lru);
    if (record.links !== null) this.links?.undo(record.links);
    this.readPositions = record.readPositions;
    this.readWeights = record.readWeights;
  }

  /** Start from an empty memory without an undo log: O(N) for the LRU list, O(written) for the rest. */
  clear(): void {
    this.rows.clear();
    this.lru.clear();
    this.index.clear();
    this.links?.clear();
    this.journalStamps.clear();
    this.readPositions = new Int32Array(this.readPositions.length).fill(-1);
    this.readWeights = new Float32Array(this.readWeights.length);
  }

  dispose(): void {
    this.index.dispose();
  }
}
