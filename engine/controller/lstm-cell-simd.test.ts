/**
 * The WebAssembly SIMD LSTM cell (`lstm-cell-simd.ts`) against the JavaScript loops it copies (`fused-lstm-cell.ts`):
 * the fused op run with `setLstmCellSimd('off')` and `'auto'` gives h, c and both gradients within 1e-6 of each
 * array's scale, on hidden sizes with and without a tail (H mod 4 ≠ 0, H < 4), batches 1 to 100, and inputs from
 * near 0 to ±100; σ and tanh within 3e-7 of Math's, saturating without Inf or NaN; a finite-difference check of the
 * op's gradients through tfjs; no leaked tensors; and the switch and the environment variable as documented.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fusedLstmCell } from './fused-lstm-cell';
import {
  lstmCellBackwardSimd,
  lstmCellForwardSimd,
  lstmCellSimdApplies,
  lstmCellSimdMode,
  setLstmCellSimd,
} from './lstm-cell-simd';
import { SeededRandom } from './seeded-random';

after(() => setLstmCellSimd(null));

/** Values in [−scale, scale) with, every few entries, one of the edge cases: large, tiny, zero. */
function edgyValues(size: number, scale: number, random: SeededRandom): Float32Array {
  const edges = [30, -30, 100, -100, 1e-7, -3e-6, 0, 0.39, -0.41, 12, -9];
  const values = random.uniform(size, scale);
  for (let i = 0; i < size; i += 5) values[i] = edges[Math.floor(random.next() * edges.length)];
  return values;
}

interface CellRun {
  readonly hidden: Float32Array;
  readonly cell: Float32Array;
  readonly gates: Float32Array;
  readonly prevCell: Float32Array;
}

/** h, c and the gradients of Σ h·wh + Σ c·wc w.r.t. the gates and the previous cell, through the fused op. */
function runCell(batch: number, size: number, seed: number, scale: number): CellRun {
  const random = new SeededRandom(seed);
  return tf.tidy(() => {
    const gates = tf.tensor2d(edgyValues(batch * 4 * size, scale, random), [batch, 4 * size]);
    const prevCell = tf.tensor2d(edgyValues(batch * size, scale, random), [batch, size]);
    const hiddenWeights = tf.tensor2d(random.uniform(batch * size, 1), [batch, size]);
    const cellWeights = tf.tensor2d(random.uniform(batch * size, 1), [batch, size]);
    const out = fusedLstmCell(gates, prevCell);
    const [gatesGradient, prevCellGradient] = tf.grads((g: tf.Tensor, c: tf.Tensor) => {
      const step = fusedLstmCell(g as tf.Tensor2D, c as tf.Tensor2D);
      return tf.add(tf.sum(tf.mul(step.hidden, hiddenWeights)), tf.sum(tf.mul(step.cell, cellWeights)));
    })([gates, prevCell]);
    return {
      hidden: out.hidden.dataSync() as Float32Array,
      cell: out.cell.dataSync() as Float32Array,
      gates: gatesGradient.dataSync() as Float32Array,
      prevCell: prevCellGradient.dataSync() as Float32Array,
    };
  });
}

/** The largest |a − b| over the largest |b| (1 for an all-zero b). */
function relativeToScale(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    assert.ok(Number.isFinite(a[i]), `non-finite value ${a[i]} at ${i}`);
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / (scale || 1);
}

const SHAPES: [batch: number, hidden: number][] = [
  [1, 1],
  [1, 3],
  [2, 5],
  [3, 17],
  [1, 64],
  [100, 5],
  [100, 64],
];

for (const backend of ['cpu', 'wasm']) {
  describe(`the SIMD LSTM cell equals the JavaScript loops (${backend})`, () => {
    for (const [batch, size] of SHAPES) {
      for (const scale of [1, 8]) {
        it(`batch ${batch}, hidden ${size}, inputs up to ±${scale} and edge values`, async () => {
          await tf.setBackend(backend);
          const seed = 1000 * batch + 10 * size + scale;
          setLstmCellSimd('off');
          const js = runCell(batch, size, seed, scale);
          setLstmCellSimd('auto');
          assert.ok(lstmCellSimdApplies(), 'WebAssembly SIMD is available in Node 20');
          const simd = runCell(batch, size, seed, scale);
          for (const key of ['hidden', 'cell', 'gates', 'prevCell'] as const) {
            const error = relativeToScale(simd[key], js[key]);
            assert.ok(error <= 1e-6, `${key}: max difference ${error} of the array's scale`);
          }
          // The SIMD kernel really ran: float32 arithmetic differs from the rounded doubles somewhere.
          assert.ok(
            (['hidden', 'cell', 'gates', 'prevCell'] as const).some((key) =>
              simd[key].some((v, i) => v !== js[key][i]),
            ),
            'the SIMD run gave the JavaScript bits exactly: it did not take the SIMD kernel',
          );
        });
      }
    }
  });
}

describe('the SIMD activations', () => {
  /** c' for gates whose i (or g) block is `values` and the other blocks saturate; c = 0, so c' = σ(i)·tanh(g). */
  function cellOf(values: Float32Array, block: 'input' | 'candidate'): Float32Array {
    const size = values.length;
    const gates = new Float32Array(4 * size).fill(100);
    gates.set(values, block === 'input' ? 0 : 2 * size);
    const step = lstmCellForwardSimd(gates, new Float32Array(size), 1, size);
    assert.ok(step !== null);
    return step.cell.slice();
  }

  const grid = Float32Array.from([
    ...Array.from({ length: 6001 }, (_, i) => -30 + i / 100),
    ...[100, -100, 1e4, -1e4, 3e38, -3e38, 1e-3, -1e-5, 1e-8, -1e-30, 0, 0.3999, 0.4, 0.4001, -0.4],
  ]);

  it('σ is within 3e-7 of Math.exp’s, saturating to 0 and 1 without Inf or NaN', () => {
    const sigmoid = cellOf(grid, 'input');
    grid.forEach((x, i) => {
      const exact = 1 / (1 + Math.exp(-x));
      assert.ok(Math.abs(sigmoid[i] - exact) <= 3e-7, `σ(${x}) = ${sigmoid[i]}, Math gives ${exact}`);
    });
    assert.equal(sigmoid[grid.indexOf(100)], 1);
    assert.ok(sigmoid[grid.indexOf(Math.fround(-3e38))] >= 0 && sigmoid[grid.indexOf(Math.fround(-3e38))] < 1e-37);
  });

  it('tanh is within 3e-7 of Math.tanh, and within 1e-6 relative near 0', () => {
    const tanh = cellOf(grid, 'candidate');
    grid.forEach((x, i) => {
      const exact = Math.tanh(x);
      assert.ok(Math.abs(tanh[i] - exact) <= 3e-7, `tanh(${x}) = ${tanh[i]}, Math gives ${exact}`);
      if (Math.abs(x) < 0.5 && x !== 0) {
        assert.ok(Math.abs(tanh[i] - exact) <= 1e-6 * Math.abs(exact), `tanh(${x}) = ${tanh[i]}, relative`);
      }
    });
    assert.equal(tanh[grid.indexOf(Math.fround(-3e38))], -1);
  });

  it('a step’s saved activations serve one backward', () => {
    const step = lstmCellForwardSimd(new Float32Array(8), new Float32Array(2), 1, 2);
    assert.ok(step !== null);
    const gradient = new Float32Array(2);
    assert.ok(lstmCellBackwardSimd(step.saved, gradient, gradient) !== null);
    assert.throws(() => lstmCellBackwardSimd(step.saved, gradient, gradient), /saved activations were used already/);
  });
});

describe('the fused op on the SIMD kernel', () => {
  it('has the gradients of central finite differences', async () => {
    await tf.setBackend('cpu');
    setLstmCellSimd('auto');
    const batch = 2;
    const size = 5;
    const random = new SeededRandom(7);
    const gates = random.uniform(batch * 4 * size, 2);
    const prevCell = random.uniform(batch * size, 2);
    const hiddenWeights = tf.tensor2d(random.uniform(batch * size, 1), [batch, size]);
    const cellWeights = tf.tensor2d(random.uniform(batch * size, 1), [batch, size]);
    const loss = (g: tf.Tensor, c: tf.Tensor) => {
      const step = fusedLstmCell(g as tf.Tensor2D, c as tf.Tensor2D);
      return tf.add(tf.sum(tf.mul(step.hidden, hiddenWeights)), tf.sum(tf.mul(step.cell, cellWeights)));
    };
    const lossAt = (g: Float32Array, c: Float32Array) =>
      tf.tidy(() => loss(tf.tensor2d(g, [batch, 4 * size]), tf.tensor2d(c, [batch, size])).dataSync()[0]);
    const analytic = tf.tidy(() =>
      tf
        .grads(loss)([tf.tensor2d(gates, [batch, 4 * size]), tf.tensor2d(prevCell, [batch, size])])
        .map((gradient) => gradient.dataSync() as Float32Array),
    );
    // float32 loss: a step of 1e-2 keeps the rounding (≈1e-7·|loss| / step) and the O(step²) term near 1e-4.
    const step = 1e-2;
    [gates, prevCell].forEach((values, which) => {
      values.forEach((value, i) => {
        const shifted = (delta: number) => {
          const copy = values.slice();
          copy[i] = value + delta;
          return which === 0 ? lossAt(copy, prevCell) : lossAt(gates, copy);
        };
        const numeric = (shifted(step) - shifted(-step)) / (2 * step);
        const exact = analytic[which][i];
        assert.ok(
          Math.abs(numeric - exact) <= 1e-3 * (1 + Math.abs(exact)),
          `${which === 0 ? 'gates' : 'prevCell'}[${i}]: analytic ${exact}, finite difference ${numeric}`,
        );
      });
    });
    tf.dispose([hiddenWeights, cellWeights]);
  });

  it('leaks no tensors through forward and backward (wasm)', async () => {
    await tf.setBackend('wasm');
    setLstmCellSimd('auto');
    const gates = tf.randomNormal([3, 28]) as tf.Tensor2D;
    const cell = tf.randomNormal([3, 7]) as tf.Tensor2D;
    const once = () =>
      tf.dispose(
        tf.grads((g: tf.Tensor, c: tf.Tensor) => {
          const step = fusedLstmCell(g as tf.Tensor2D, c as tf.Tensor2D);
          return tf.sum(tf.mul(step.hidden, step.cell));
        })([gates, cell]),
      );
    once();
    const before = tf.memory().numTensors;
    once();
    once();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([gates, cell]);
  });
});

it('ENGRAM_LSTM_SIMD selects the mode; an unknown value is refused by name', () => {
  const saved = process.env.ENGRAM_LSTM_SIMD;
  setLstmCellSimd(null);
  try {
    process.env.ENGRAM_LSTM_SIMD = 'off';
    assert.equal(lstmCellSimdMode(), 'off');
    assert.equal(lstmCellSimdApplies(), false);
    delete process.env.ENGRAM_LSTM_SIMD;
    assert.equal(lstmCellSimdMode(), 'auto');
    process.env.ENGRAM_LSTM_SIMD = 'fast';
    assert.throws(() => lstmCellSimdMode(), /ENGRAM_LSTM_SIMD must be 'auto' or 'off', got 'fast'/);
    setLstmCellSimd('off');
    assert.equal(lstmCellSimdMode(), 'off', 'the override wins over the environment');
  } finally {
    setLstmCellSimd(null);
    if (saved === undefined) delete process.env.ENGRAM_LSTM_SIMD;
    else process.env.ENGRAM_LSTM_SIMD = saved;
  }
});
