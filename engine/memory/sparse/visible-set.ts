/**
 * The visible set of one sparse-memory step for one batch element (Rae et al. 2016, §3.2–3.3 and §3.6): the only
 * rows a step reads, writes or differentiates. It is the union of the previous read positions and the least
 * recently used row (the write support: w^W = α(γ·w^R_{t−1} + (1 − γ)·I^U)), the K nearest rows of every read key
 * from the index, and for the SDNC the K_L most promising forward and backward positions of every head. This
 * module plans it on the host and lays out the small arrays the tape gathers from; the sizes are fixed per
 * configuration (padding uses cell −1) so per-step tensors keep one shape.
 */
import type { ElementStore } from './element-store';

export interface VisibleSizes {
  readonly memorySize: number;
  readonly cellSize: number;
  readonly readHeads: number;
  readonly sparseReads: number;
  readonly temporalReads: number;
  /** V: visible rows per step. */
  readonly visibleSize: number;
  /** Rows appended to the journal per step (the write support's fixed size). */
  readonly writeSlots: number;
  /** J: rows in the journal. */
  readonly journalRows: number;
}

/** Entries kept in the SDNC's precedence: as many as one step can write (R·K + 1). */
export function precedenceSizeFor(readHeads: number, sparseReads: number): number {
  return readHeads * sparseReads + 1;
}

/**
 * V = min(N, R·K + 1 + R·K + 2·R·K_L + P): write support, content candidates, temporal candidates and, for the
 * SDNC, the P precedence positions (so the precedence update is exact on the visible set).
 */
export function visibleSizeFor(
  memorySize: number,
  readHeads: number,
  sparseReads: number,
  temporalReads: number,
): number {
  const precedence = temporalReads > 0 ? precedenceSizeFor(readHeads, sparseReads) : 0;
  return Math.min(memorySize, 2 * readHeads * sparseReads + 1 + 2 * readHeads * temporalReads + precedence);
}

export interface VisiblePlan {
  /** `[V]` cell of each visible slot, −1 for padding. */
  readonly cells: Int32Array;
  /** `[V, W]` host rows for slots without a journal copy (zeros elsewhere). */
  readonly hostRows: Float32Array;
  /** `[V]` journal row holding the slot's differentiable copy, or −1. */
  readonly journalIndex: Int32Array;
  /** `[R, K]` visible slot of each previous read position, or −1. */
  readonly prevReadSlots: Int32Array;
  readonly leastUsedCell: number;
  readonly leastUsedSlot: number;
  /** `[writeSlots]` distinct visible slots that may be written, −1 padded. */
  readonly writeSlots: Int32Array;
  /** `[R, V]` 1 where a head's content weighting may be non-zero (its search results and the write support). */
  readonly candidateMask: Float32Array;
  /** `[V]` 1 for real slots. */
  readonly visibleMask: Float32Array;
  /** SDNC: `[V, V]` L_{t−1} among visible cells (empty for SAM). */
  readonly links: Float32Array;
  /** SDNC: `[P]` visible slot of each entry of the previous precedence, −1 padded (empty for SAM). */
  readonly precedenceSlots: Int32Array;
}

/**
 * Plan the visible set of `element` for read keys `keys` (`[R, W]` row-major) at history `depth`.
 */
export function planVisible(
  element: ElementStore,
  keys: Float32Array,
  sizes: VisibleSizes,
  depth: number,
): VisiblePlan {
  const { readHeads, sparseReads, cellSize, visibleSize, temporalReads } = sizes;
  const cells = new Int32Array(visibleSize).fill(-1);
  const slotOf = new Map<number, number>();
  const add = (cell: number): number => {
    if (cell < 0) return -1;
    const known = slotOf.get(cell);
    if (known !== undefined) return known;
    const slot = slotOf.size;
    if (slot >= visibleSize)
      throw new Error(`planVisible: more than ${visibleSize} visible cells (internal sizing error)`);
    slotOf.set(cell, slot);
    cells[slot] = cell;
    return slot;
  };
  const prevReadSlots = Int32Array.from(element.readPositions, add);
  const leastUsedCell = element.lru.leastUsed();
  const leastUsedSlot = add(leastUsedCell);
  const writeSlots = new Int32Array(sizes.writeSlots).fill(-1);
  [...new Set([...prevReadSlots, leastUsedSlot].filter((slot) => slot >= 0))].forEach((slot, i) => {
    writeSlots[i] = slot;
  });
  const precedenceSlots = new Int32Array(element.links === null ? 0 : precedenceSizeFor(readHeads, sparseReads)).fill(
    -1,
  );
  element.links?.precedence.cells.forEach((cell, i) => {
    precedenceSlots[i] = add(cell);
  });
  const candidateMask = new Float32Array(readHeads * visibleSize);
  const found = element.index.search(keys, readHeads, sparseReads);
  for (let head = 0; head < readHeads; head++) {
    for (let k = 0; k < sparseReads; k++) {
      const slot = add(found[head * sparseReads + k]);
      if (slot >= 0) candidateMask[head * visibleSize + slot] = 1;
    }
    for (const slot of writeSlots) if (slot >= 0) candidateMask[head * visibleSize + slot] = 1;
  }
  if (element.links !== null) {
    for (let head = 0; head < readHeads; head++) {
      const range = [head * sparseReads, (head + 1) * sparseReads] as const;
      const temporal = element.links.temporalCandidates(
        element.readPositions.subarray(...range),
        element.readWeights.subarray(...range),
        temporalReads,
      );
      temporal.forward.forEach(add);
      temporal.backward.forEach(add);
    }
  }
  const hostRows = new Float32Array(visibleSize * cellSize);
  const journalIndex = new Int32Array(visibleSize).fill(-1);
  const visibleMask = new Float32Array(visibleSize);
  cells.forEach((cell, slot) => {
    if (cell < 0) return;
    visibleMask[slot] = 1;
    journalIndex[slot] = element.journalSlot(cell, depth, sizes.writeSlots, sizes.journalRows);
    if (journalIndex[slot] < 0) element.rows.readInto(cell, hostRows, slot * cellSize);
  });
  const links = new Float32Array(element.links === null ? 0 : visibleSize * visibleSize);
  if (element.links !== null) {
    for (const [cell, slot] of slotOf) {
      const row = element.links.forward.get(cell);
      row?.cells.forEach((target, n) => {
        const targetSlot = slotOf.get(target);
        if (targetSlot !== undefined) links[slot * visibleSize + targetSlot] = row.values[n];
      });
    }
  }
  return {
    cells,
    hostRows,
    journalIndex,
    prevReadSlots,
    leastUsedCell,
    leastUsedSlot,
    writeSlots,
    candidateMask,
    visibleMask,
    links,
    precedenceSlots,
  };
}

/** Stack one field of every element's plan into a batch-major array. */
export function stackPlans<T extends Float32Array | Int32Array>(
  plans: readonly VisiblePlan[],
  pick: (plan: VisiblePlan) => T,
  make: (length: number) => T,
): T {
  const size = pick(plans[0]).length;
  const out = make(size * plans.length);
  plans.forEach((plan, b) => out.set(pick(plan), b * size));
  return out;
}
