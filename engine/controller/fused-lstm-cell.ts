/**
 * The LSTM cell's gate math (Hochreiter & Schmidhuber 1997; the DNC paper's controller) as ONE taped op:
 * `multiOutputGradient` over a typed-array forward and its analytic backward, h and c made directly (no packed
 * output to split). The plain tfjs path (`lstmFromGates`)
 * is a split, three sigmoids, two tanh, three multiplies and an add — eleven kernels forward and about thirty
 * backward per step and layer, where per-op dispatch, not arithmetic, is the cost at controller sizes.
 *
 * Forward, per element, with gate pre-activations (i, f, g, o) in PyTorch's block order:
 *   c' = σ(f)·c + σ(i)·tanh(g),  h' = σ(o)·tanh(c').
 * Backward, given dh' and dc' (the latter from the next step's cell):
 *   dc_total = dc' + dh'·σ(o)·(1 − tanh²(c')),
 *   di = dc_total·tanh(g)·σ(i)(1 − σ(i)),  df = dc_total·c·σ(f)(1 − σ(f)),
 *   dg = dc_total·σ(i)·(1 − tanh²(g)),     do = dh'·tanh(c')·σ(o)(1 − σ(o)),
 *   dc = dc_total·σ(f).
 * The JavaScript loops below are the definition; the op runs the same equations in WebAssembly SIMD
 * (`lstm-cell-simd.ts`) unless `ENGRAM_LSTM_SIMD=off`. It reads its inputs synchronously (heap views on wasm), so it
 * only suits backends whose tensors live in host memory; `useFusedLstmCell` says when to use it.
 */
import * as tf from '@tensorflow/tfjs';
import { multiOutputGradient } from '../util/custom-gradient';
import { tensorFilledInPlace, transientValues } from '../util/device-backend';
import { lstmCellBackwardSimd, lstmCellForwardSimd, lstmCellSimdApplies } from './lstm-cell-simd';

/**
 * When the fused cell is used, measured A/B on the same machine (`bench:engine`; `bench:lstm-cell`, one cell
 * forward+backward at hidden 64). On cpu it is 8–12% faster on the copy-task config. On wasm its SIMD kernel wins at
 * every size measured (2026-12-07, `bench:lstm-cell`, medians with ≈130 µs of harness in each at batch 100, ≈65–85 at
 * batch 8): batch 100 0.34 ms against the plain ops' 0.79 (the JS loops 1.2), batch 8 0.11 against 0.33, batch
 * 100 × hidden 256 0.76 against 2.4. Without SIMD (`ENGRAM_LSTM_SIMD=off`) the JS loops win only where per-op
 * dispatch dominates, up to this many cell elements (batch 8: 0.14 ms against 0.33; from batch ≈50 on wasm's own
 * SIMD elementwise kernels catch up, batch 100 even). A device backend would pay a copy per step.
 */
const WASM_MAX_LOOP_CELL_ELEMENTS = 2048;

let fusedMode: 'auto' | 'on' | 'off' = 'auto';

/**
 * Force the fused cell (`on`) or the plain tfjs path (`off`), or restore the size- and backend-based choice (`auto`);
 * for benchmarks and tests.
 */
export function setFusedLstmCell(mode: 'auto' | 'on' | 'off'): void {
  fusedMode = mode;
}

/** The mode `setFusedLstmCell` set. */
export function fusedLstmCellMode(): 'auto' | 'on' | 'off' {
  return fusedMode;
}

/**
 * Whether the current backend should run the fused cell rather than the plain tfjs ops.
 * @param cellElements batch·hidden of the step (unknown: assume large)
 */
export function useFusedLstmCell(cellElements = Number.POSITIVE_INFINITY): boolean {
  if (fusedMode !== 'auto') return fusedMode === 'on';
  const backend = tf.getBackend();
  return (
    backend === 'cpu' || (backend === 'wasm' && (lstmCellSimdApplies() || cellElements <= WASM_MAX_LOOP_CELL_ELEMENTS))
  );
}

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

/** One step's h_t and c_t `[batch, hidden]`, and its backward from dh_t and dc_t to d gates and dc_{t−1}. */
interface CellStep {
  readonly hidden: Float32Array;
  readonly cell: Float32Array;
  backward(hiddenGradient: Float32Array, cellGradient: Float32Array): { gates: Float32Array; prevCell: Float32Array };
}

/** The definition: the header's equations as JavaScript loops, in double precision rounded to float32 per value. */
function cellStepLoops(pre: Float32Array, prevCell: Float32Array, batch: number, size: number): CellStep {
  const width = 4 * size;
  // The backward needs c_{t−1}; `prevCell` may be a transient heap view.
  const previous = prevCell.slice();
  // Activations kept for the backward.
  const activated = new Float32Array(batch * width);
  const cellTanh = new Float32Array(batch * size);
  const hiddenOut = new Float32Array(batch * size);
  const cellOut = new Float32Array(batch * size);
  for (let b = 0; b < batch; b++) {
    const row = b * width;
    for (let k = 0; k < size; k++) {
      const inputGate = sigmoid(pre[row + k]);
      const forgetGate = sigmoid(pre[row + size + k]);
      const candidate = Math.tanh(pre[row + 2 * size + k]);
      const outputGate = sigmoid(pre[row + 3 * size + k]);
      activated[row + k] = inputGate;
      activated[row + size + k] = forgetGate;
      activated[row + 2 * size + k] = candidate;
      activated[row + 3 * size + k] = outputGate;
      const cell = forgetGate * previous[b * size + k] + inputGate * candidate;
      const squashed = Math.tanh(cell);
      cellTanh[b * size + k] = squashed;
      hiddenOut[b * size + k] = outputGate * squashed;
      cellOut[b * size + k] = cell;
    }
  }
  const backward = (upstreamHidden: Float32Array, upstreamCell: Float32Array) => {
    const gateGradient = new Float32Array(batch * width);
    const cellGradient = new Float32Array(batch * size);
    for (let b = 0; b < batch; b++) {
      const row = b * width;
      for (let k = 0; k < size; k++) {
        const inputGate = activated[row + k];
        const forgetGate = activated[row + size + k];
        const candidate = activated[row + 2 * size + k];
        const outputGate = activated[row + 3 * size + k];
        const squashed = cellTanh[b * size + k];
        const dHidden = upstreamHidden[b * size + k];
        const dCell = upstreamCell[b * size + k] + dHidden * outputGate * (1 - squashed * squashed);
        gateGradient[row + k] = dCell * candidate * inputGate * (1 - inputGate);
        gateGradient[row + size + k] = dCell * previous[b * size + k] * forgetGate * (1 - forgetGate);
        gateGradient[row + 2 * size + k] = dCell * inputGate * (1 - candidate * candidate);
        gateGradient[row + 3 * size + k] = dHidden * squashed * outputGate * (1 - outputGate);
        cellGradient[b * size + k] = dCell * forgetGate;
      }
    }
    return { gates: gateGradient, prevCell: cellGradient };
  };
  return { hidden: hiddenOut, cell: cellOut, backward };
}

/** The same step in WebAssembly SIMD (`lstm-cell-simd.ts`); null when its memory cannot grow to the step. */
function cellStepSimd(pre: Float32Array, prevCell: Float32Array, batch: number, size: number): CellStep | null {
  const forward = lstmCellForwardSimd(pre, prevCell, batch, size);
  if (forward === null) return null;
  const { saved } = forward;
  return {
    hidden: forward.hidden,
    cell: forward.cell,
    backward: (hiddenGradient, cellGradient) => {
      // The saved block is tiny next to the wasm memory already grown for this step's forward.
      const gradients = lstmCellBackwardSimd(saved, hiddenGradient, cellGradient);
      if (gradients === null) throw new Error(`fusedLstmCell: the SIMD module lost the memory of its forward step`);
      return gradients;
    },
  };
}

/** A new `[rows, columns]` tensor holding `values` (copied straight into a wasm tensor's heap memory). */
function tensorOf(values: Float32Array, rows: number, columns: number): tf.Tensor2D {
  return tensorFilledInPlace([rows, columns], (target) => target.set(values)) as tf.Tensor2D;
}

/**
 * One LSTM cell step as a single differentiable op, in WebAssembly SIMD unless `ENGRAM_LSTM_SIMD=off`.
 * @param gates pre-activations `[batch, 4·hidden]`, blocks i, f, g, o
 * @param prevCell c_{t−1} `[batch, hidden]`
 * @returns h_t and c_t, each `[batch, hidden]`
 */
export function fusedLstmCell(gates: tf.Tensor2D, prevCell: tf.Tensor2D): { hidden: tf.Tensor2D; cell: tf.Tensor2D } {
  const [batch, width] = gates.shape;
  const size = width / 4;
  if (!Number.isInteger(size) || prevCell.shape[0] !== batch || prevCell.shape[1] !== size) {
    throw new Error(
      `fusedLstmCell: gates [${gates.shape.join(', ')}] need width 4·hidden and prevCell [${batch}, hidden], got ` +
        `prevCell [${prevCell.shape.join(', ')}]`,
    );
  }
  const cellOp = multiOutputGradient(() => {
    // Heap views on wasm, both read by the step before any tensor is made.
    const pre = transientValues(gates);
    const previous = transientValues(prevCell);
    const step =
      (lstmCellSimdApplies() ? cellStepSimd(pre, previous, batch, size) : null) ??
      cellStepLoops(pre, previous, batch, size);
    return {
      values: [tensorOf(step.hidden, batch, size), tensorOf(step.cell, batch, size)],
      gradFunc: ([dHiddenTensor, dCellTensor]) => {
        // Heap views on wasm: both are read by the backward before the gradients are made.
        const gradients = step.backward(transientValues(dHiddenTensor), transientValues(dCellTensor));
        return [tensorOf(gradients.gates, batch, width), tensorOf(gradients.prevCell, batch, size)];
      },
    };
  });
  const [hidden, cell] = cellOp(gates, prevCell) as tf.Tensor2D[];
  return { hidden, cell };
}
