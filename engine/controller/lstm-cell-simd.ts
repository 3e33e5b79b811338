/**
 * The LSTM cell's gate math and its analytic backward (Hochreiter & Schmidhuber 1997; the DNC paper's controller) in
 * WebAssembly SIMD, float32, four values per instruction, with σ and tanh from a vectorised exp:
 * `wasm/lstm-cell.wat`, assembled by `npm run build:wasm` into `wasm/lstm-cell-wasm.ts`. The JavaScript loops in
 * `fused-lstm-cell.ts` stay the definition; `lstm-cell-simd.test.ts` holds this copy to them.
 *
 * At the copy task's batch 100 × hidden 64 the JavaScript loops spend most of a step in Math.exp and Math.tanh; here
 * a step copies its inputs into the module's memory once, runs one call, and the caller copies the outputs into their
 * tensors. What the backward needs (c, σ(i), σ(f), tanh(g), σ(o), tanh(c')) is one contiguous block of that memory,
 * copied out once per forward into an array that the backward hands back for reuse (other steps reuse the module's
 * memory before the backward runs). Each thread instantiates the module once and grows its memory to the largest step
 * seen. `ENGRAM_LSTM_SIMD=off` or `setLstmCellSimd('off')` keeps the JavaScript loops.
 */
import {
  growMemoryTo,
  instantiateSimdModule,
  regions,
  type SimdMode,
  type SimdModuleExports,
  simdModeSwitch,
} from '../util/simd-module';
import { LSTM_CELL_WASM_BASE64 } from './wasm/lstm-cell-wasm';

/** 'auto': SIMD where WebAssembly SIMD is available; 'off': always the JavaScript loops. */
export type LstmCellSimdMode = SimdMode;

const simdSwitch = simdModeSwitch('ENGRAM_LSTM_SIMD', 'setLstmCellSimd');

/** The fused LSTM cell's SIMD mode: `setLstmCellSimd`'s, else `ENGRAM_LSTM_SIMD` ('auto' or 'off'; default 'auto'). */
export function lstmCellSimdMode(): LstmCellSimdMode {
  return simdSwitch.mode();
}

/** Force the mode for this thread (`null` returns to the environment's); for benchmarks and tests. */
export function setLstmCellSimd(mode: LstmCellSimdMode | null): void {
  simdSwitch.set(mode);
}

type LstmCellExports = SimdModuleExports<'cellForward' | 'cellBackward'>;

/** This thread's instance: undefined until first asked for, null where WebAssembly SIMD is unavailable. */
let lstmCell: LstmCellExports | null | undefined;

function instance(): LstmCellExports | null {
  if (lstmCell !== undefined) return lstmCell;
  lstmCell = instantiateSimdModule(LSTM_CELL_WASM_BASE64, ['cellForward', 'cellBackward'], 'the fused LSTM cell');
  return lstmCell;
}

/** Whether the fused cell takes the SIMD kernel (checked once per step). */
export function lstmCellSimdApplies(): boolean {
  return lstmCellSimdMode() !== 'off' && instance() !== null;
}

/** Where each array of a step at these sizes lies in the module's memory, in floats. */
function layoutOf(batch: number, size: number) {
  const cells = batch * size;
  // One gate's [batch·H] values, rounded up to whole vectors: the module computes the padding lanes too.
  const plane = Math.ceil(cells / 4) * 4;
  const take = regions();
  return {
    plane,
    gates: take(4 * cells),
    // prevCell, activated and cellTanh, in this order, are the saved block.
    prevCell: take(cells),
    activated: take(4 * plane),
    cellTanh: take(cells),
    hidden: take(cells),
    cell: take(cells),
    hiddenGradient: take(cells),
    cellGradient: take(cells),
    gatePlanes: take(4 * plane),
    gateGradient: take(4 * cells),
    prevCellGradient: take(cells),
    end: take(0),
  };
}

/** The instance with its memory grown to a step at these sizes and a view of it; null when it cannot grow. */
function open(batch: number, size: number): { exports: LstmCellExports; heap: Float32Array } | null {
  const exports = instance();
  if (exports === null || !growMemoryTo(exports.memory, layoutOf(batch, size).end)) return null;
  return { exports, heap: new Float32Array(exports.memory.buffer) };
}

/**
 * Saved blocks whose backward has run, by length, reused by later forward steps: a fresh array per step (150 kB at
 * batch 100, hidden 64) cost more in garbage collection than the step's arithmetic. Blocks of steps whose backward
 * never runs (no tape) are left to the collector.
 */
const spentBlocks = new Map<number, Float32Array[]>();

/** At most this many spent blocks are kept per length (about the steps·layers of one long sequence). */
const MAX_SPENT_BLOCKS = 256;

/** What one forward step leaves for its backward, once: c, then the activations and tanh(c'). */
export class LstmCellSaved {
  private block: Float32Array | null;

  constructor(
    readonly batch: number,
    readonly size: number,
    from: Float32Array,
  ) {
    const reused = spentBlocks.get(from.length)?.pop();
    this.block = reused ?? new Float32Array(from.length);
    this.block.set(from);
  }

  /** The block for the backward, handed back to the pool: a step's backward runs once. */
  take(): Float32Array {
    const { block } = this;
    if (block === null) throw new Error("lstmCellBackwardSimd: this step's saved activations were used already");
    this.block = null;
    return block;
  }

  /** Hand a taken block back for later steps, once its values are copied out. */
  static release(block: Float32Array): void {
    const spent = spentBlocks.get(block.length) ?? [];
    if (spent.length < MAX_SPENT_BLOCKS) spent.push(block);
    spentBlocks.set(block.length, spent);
  }
}

/**
 * One cell step forward in SIMD.
 * @param gates pre-activations `[batch, 4·hidden]`, blocks i, f, g, o (read at once, so a transient heap view is fine)
 * @param prevCell c_{t−1} `[batch, hidden]` (likewise)
 * @returns h_t and c_t `[batch, hidden]` as views of the module's memory (copy them before the module runs again), and
 *   what the backward needs; null when the memory cannot grow to the step (the caller keeps the JavaScript loops)
 */
export function lstmCellForwardSimd(
  gates: Float32Array,
  prevCell: Float32Array,
  batch: number,
  size: number,
): { hidden: Float32Array; cell: Float32Array; saved: LstmCellSaved } | null {
  const cells = batch * size;
  if (gates.length !== 4 * cells || prevCell.length !== cells) {
    throw new Error(
      `lstmCellForwardSimd: gates (${gates.length} values) and prevCell (${prevCell.length}) must hold ` +
        `4·${cells} and ${cells} for batch ${batch}, hidden ${size}`,
    );
  }
  const opened = open(batch, size);
  if (opened === null) return null;
  const { exports, heap } = opened;
  const at = layoutOf(batch, size);
  heap.set(gates, at.gates);
  heap.set(prevCell, at.prevCell);
  exports.cellForward(
    4 * at.gates,
    4 * at.prevCell,
    4 * at.activated,
    4 * at.cellTanh,
    4 * at.hidden,
    4 * at.cell,
    batch,
    size,
    4 * at.plane,
  );
  return {
    hidden: heap.subarray(at.hidden, at.hidden + cells),
    cell: heap.subarray(at.cell, at.cell + cells),
    saved: new LstmCellSaved(batch, size, heap.subarray(at.prevCell, at.cellTanh + cells)),
  };
}

/**
 * One cell step backward in SIMD, from its forward's `saved` (once).
 * @param hiddenGradient dLoss/dh_t `[batch, hidden]` (read at once)
 * @param cellGradient dLoss/dc_t `[batch, hidden]` (read at once)
 * @returns dLoss/d gates `[batch, 4·hidden]` and dLoss/dc_{t−1} `[batch, hidden]` as views of the module's memory (copy
 *   them before the module runs again); null when the memory cannot grow
 */
export function lstmCellBackwardSimd(
  saved: LstmCellSaved,
  hiddenGradient: Float32Array,
  cellGradient: Float32Array,
): { gates: Float32Array; prevCell: Float32Array } | null {
  const { batch, size } = saved;
  const cells = batch * size;
  if (hiddenGradient.length !== cells || cellGradient.length !== cells) {
    throw new Error(
      `lstmCellBackwardSimd: hiddenGradient (${hiddenGradient.length} values) and cellGradient ` +
        `(${cellGradient.length}) must hold ${cells} each for batch ${batch}, hidden ${size}`,
    );
  }
  const opened = open(batch, size);
  if (opened === null) return null;
  const { exports, heap } = opened;
  const at = layoutOf(batch, size);
  const block = saved.take();
  heap.set(block, at.prevCell);
  LstmCellSaved.release(block);
  heap.set(hiddenGradient, at.hiddenGradient);
  heap.set(cellGradient, at.cellGradient);
  exports.cellBackward(
    4 * at.activated,
    4 * at.cellTanh,
    4 * at.prevCell,
    4 * at.hiddenGradient,
    4 * at.cellGradient,
    4 * at.gatePlanes,
    4 * at.gateGradient,
    4 * at.prevCellGradient,
    batch,
    size,
    4 * at.plane,
  );
  return {
    gates: heap.subarray(at.gateGradient, at.gateGradient + 4 * cells),
    prevCell: heap.subarray(at.prevCellGradient, at.prevCellGradient + cells),
  };
}
