import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fusedLstmCell, useFusedLstmCell } from './fused-lstm-cell';
import { setLstmCellSimd } from './lstm-cell-simd';
import { lstmFromGates } from './lstm';

/** Loss weights that differ per output, so every path of the backward is exercised with distinct values. */
function compare(batch: number, hidden: number, scale: number): void {
  const gates = tf.randomNormal([batch, 4 * hidden], 0, scale, 'float32', 1) as tf.Tensor2D;
  const cell = tf.randomNormal([batch, hidden], 0, scale, 'float32', 2) as tf.Tensor2D;
  const hiddenWeights = tf.randomNormal([batch, hidden], 0, 1, 'float32', 3);
  const cellWeights = tf.randomNormal([batch, hidden], 0, 1, 'float32', 4);
  const run = (cellFn: typeof lstmFromGates) => {
    const loss = (g: tf.Tensor, c: tf.Tensor) => {
      const out = cellFn(g as tf.Tensor2D, c as tf.Tensor2D);
      return tf.add(tf.sum(tf.mul(out.hidden, hiddenWeights)), tf.sum(tf.mul(out.cell, cellWeights)));
    };
    const values = cellFn(gates, cell);
    const gradients = tf.grads(loss)([gates, cell]);
    return {
      hidden: values.hidden.dataSync(),
      cell: values.cell.dataSync(),
      gates: gradients[0].dataSync(),
      prevCell: gradients[1].dataSync(),
    };
  };
  const plain = run(lstmFromGates);
  const fused = run(fusedLstmCell);
  for (const key of ['hidden', 'cell', 'gates', 'prevCell'] as const) {
    const worst = Math.max(...Array.from(plain[key], (v, i) => Math.abs(v - fused[key][i])));
    assert.ok(worst < 1e-6, `${key}: max difference ${worst}`);
  }
}

describe('fusedLstmCell', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`equals the plain tfjs cell in values and both gradients (${backend})`, async () => {
      await tf.setBackend(backend);
      setLstmCellSimd('auto');
      assert.equal(useFusedLstmCell(), true, 'with the SIMD kernel: fused at every size, it measured faster');
      assert.equal(useFusedLstmCell(100 * 64), true, 'batch 100, hidden 64: the SIMD kernel beats the plain ops');
      setLstmCellSimd('off');
      assert.equal(useFusedLstmCell(), backend === 'cpu', 'JS loops, large cells: fused on cpu only');
      assert.equal(
        useFusedLstmCell(8 * 64),
        true,
        'JS loops, small cells (batch 8, hidden 64): fused on both, dispatch dominates',
      );
      assert.equal(useFusedLstmCell(100 * 64), backend === 'cpu', 'JS loops, batch 100: wasm keeps its SIMD kernels');
      setLstmCellSimd(null);
      compare(3, 5, 1);
      compare(2, 4, 6); // saturated gates
      const zeros = fusedLstmCell(tf.zeros([2, 8]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D);
      assert.deepEqual(Array.from(zeros.cell.dataSync()), [0, 0, 0, 0]);
    });
  }

  it('rejects mismatched shapes, naming both', async () => {
    await tf.setBackend('cpu');
    assert.throws(
      () => fusedLstmCell(tf.zeros([2, 8]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D),
      /fusedLstmCell: gates \[2, 8\] need width 4·hidden and prevCell \[2, hidden\], got prevCell \[2, 3\]/,
    );
  });

  it('under a gradient tape makes exactly h and c, nothing split or saved', async () => {
    await tf.setBackend('wasm');
    const gates = tf.randomNormal([3, 16]) as tf.Tensor2D;
    const cell = tf.randomNormal([3, 4]) as tf.Tensor2D;
    let added = -1;
    let bytes = -1;
    const gradients = tf.grads((g: tf.Tensor, c: tf.Tensor) => {
      const before = tf.memory();
      const out = fusedLstmCell(g as tf.Tensor2D, c as tf.Tensor2D);
      added = tf.memory().numTensors - before.numTensors;
      bytes = tf.memory().numBytes - before.numBytes;
      return tf.sum(tf.mul(out.hidden, out.cell));
    })([gates, cell]);
    // A packed [h | c] output split in two held three tensors (and on wasm the split copied the packed one twice).
    assert.equal(added, 2, 'tensors made by one cell step under the tape');
    assert.equal(bytes, 2 * 4 * 3 * 4, 'bytes made: h and c, [3, 4] float32 each');
    tf.dispose([gates, cell, ...gradients]);
  });

  it('leaks no tensors through forward and backward', async () => {
    await tf.setBackend('cpu');
    const gates = tf.randomNormal([2, 8]) as tf.Tensor2D;
    const cell = tf.randomNormal([2, 2]) as tf.Tensor2D;
    const once = () =>
      tf.dispose(
        tf.grads((g: tf.Tensor, c: tf.Tensor) => tf.sum(fusedLstmCell(g as tf.Tensor2D, c as tf.Tensor2D).hidden))([
          gates,
          cell,
        ]),
      );
    once();
    const before = tf.memory().numTensors;
    once();
    once();
    assert.equal(tf.memory().numTensors, before);
  });
});
