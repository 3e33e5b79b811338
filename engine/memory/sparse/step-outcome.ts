/**
 * The host-side outcome of one sparse-memory step for one batch element (Rae et al. 2016, §3.3 and §3.5): which
 * rows were written and with what, which cells were accessed (their LRU time is refreshed), and the top-K read
 * positions per head that the next step writes to and follows links from. Computed from the step's single
 * read-back of the visible rows and weights.
 */
import type { ElementStepResult } from './element-store';
import { TopCells } from './index/types';
import type { VisiblePlan, VisibleSizes } from './visible-set';

/** δ: a cell counts as accessed (its LRU time is refreshed) when a read or write weight on it exceeds this. */
export const ACCESS_THRESHOLD = 0.005;

/**
 * The step's values read back once, batch-major: `[batch, V, W]` rows, `[batch, V]` write and `[batch, R, V]` read
 * weights.
 */
export interface StepValues {
  readonly memory: Float32Array;
  readonly write: Float32Array;
  readonly read: Float32Array;
}

/** The outcome for batch element `b`; also fills its `[R, K]` block of `readSlots` (visible slots, −1 if none). */
export function stepOutcome(
  plan: VisiblePlan,
  b: number,
  sizes: VisibleSizes,
  values: StepValues,
  readSlots: Int32Array,
  time: number,
): ElementStepResult {
  const { memory, write, read } = values;
  const { visibleSize: visible, readHeads, sparseReads, cellSize } = sizes;
  const writeCells: number[] = [];
  const writeWeights: number[] = [];
  const journalSlots: number[] = [];
  const writeRows = new Float32Array(plan.writeSlots.length * cellSize);
  plan.writeSlots.forEach((slot, i) => {
    if (slot < 0) return;
    writeRows.set(
      memory.subarray((b * visible + slot) * cellSize, (b * visible + slot + 1) * cellSize),
      writeCells.length * cellSize,
    );
    writeCells.push(plan.cells[slot]);
    writeWeights.push(write[b * visible + slot]);
    journalSlots.push(i);
  });
  const accessed = new Set<number>();
  const readPositions = new Int32Array(readHeads * sparseReads);
  const readWeights = new Float32Array(readHeads * sparseReads);
  for (let slot = 0; slot < visible; slot++) {
    if (plan.cells[slot] >= 0 && write[b * visible + slot] > ACCESS_THRESHOLD) accessed.add(plan.cells[slot]);
  }
  for (let head = 0; head < readHeads; head++) {
    const base = (b * readHeads + head) * visible;
    // The K largest read weights, ties to the lower slot (TopCells' order, with slots for cells).
    const top = new TopCells(sparseReads);
    for (let slot = 0; slot < visible; slot++) {
      if (plan.cells[slot] < 0) continue;
      top.offer(read[base + slot], slot);
      if (read[base + slot] > ACCESS_THRESHOLD) accessed.add(plan.cells[slot]);
    }
    for (let k = 0; k < sparseReads; k++) {
      const slot = top.cells[k];
      readSlots[(b * readHeads + head) * sparseReads + k] = slot;
      readPositions[head * sparseReads + k] = slot < 0 ? -1 : plan.cells[slot];
      readWeights[head * sparseReads + k] = slot < 0 ? 0 : read[base + slot];
    }
  }
  return {
    writeCells,
    writeRows: writeRows.subarray(0, writeCells.length * cellSize),
    writeWeights,
    accessedCells: [...accessed],
    readPositions,
    readWeights,
    depth: time,
    journalSlots,
  };
}
