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
 * It reads its inputs with one `dataSync` each, so it only suits backends whose tensors live in host memory;
 * `useFusedLstmCell` says when to use it.
 */
import * as tf from '@tensorflow/tfjs';
import { multiOutputGradient } from '../util/custom-gradient';
import { transientValues } from '../util/device-backend';

/**
 * When the fused cell is used, measured A/B on the same machine (`bench:engine`, and one cell forward+backward at
 * hidden 64). On cpu it is 8–12% faster on the copy-task config. On wasm it wins where per-op dispatch dominates,
 * i.e. small batches: one cell step forward+backward 0.2 ms against 0.4 ms at batch 8 and ≈0.3–0.9 against ≈1.1–2
 * ms at batch 32, the whole N16 iteration (batch 8) min 21 → 16 ms; from batch ≈50 on, wasm's SIMD elementwise
 * kernels catch up with the JS loop (batch 100 even). A device backend would pay a copy per step.
 */
const WASM_MAX_CELL_ELEMENTS = 2048;

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
  return backend === 'cpu' || (backend === 'wasm' && cellElements <= WASM_MAX_CELL_ELEMENTS);
}

function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

/**
 * One LSTM cell step as a single differentiable op.
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
    // A view of the heap on wasm (read here, before any tensor is made); the previous cell is copied, the
    // backward needs it.
    const pre = transientValues(gates);
    const previous = prevCell.dataSync() as Float32Array;
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
    return {
      values: [tf.tensor2d(hiddenOut, [batch, size]), tf.tensor2d(cellOut, [batch, size])],
      gradFunc: ([dHiddenTensor, dCellTensor]) => {
        // Heap views on wasm: both are read in the loop below, before the gradients are made.
        const upstreamHidden = transientValues(dHiddenTensor);
        const upstreamCell = transientValues(dCellTensor);
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
        return [tf.tensor2d(gateGradient, [batch, width]), tf.tensor2d(cellGradient, [batch, size])];
      },
    };
  });
  const [hidden, cell] = cellOp(gates, prevCell) as tf.Tensor2D[];
  return { hidden, cell };
}
