/**
 * `multiOutputGradient`: a taped op with several outputs, each at its own shape, whose gradient receives one dy per
 * output (zeros for an output no gradient reached) and works from its closure alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { multiOutputGradient } from './custom-gradient';

/** y1 = 2·x as [2, 3], y2 = x² flattened to [6], with their analytic gradient. */
const doubleAndSquare = multiOutputGradient(([x]) => {
  const values = x.dataSync();
  return {
    values: [
      tf.tensor(
        values.map((v) => 2 * v),
        [2, 3],
      ),
      tf.tensor(
        values.map((v) => v * v),
        [6],
      ),
    ],
    gradFunc: ([dy1, dy2]) => {
      const d1 = dy1.dataSync();
      const d2 = dy2.dataSync();
      return [
        tf.tensor(
          values.map((v, i) => 2 * d1[i] + 2 * v * d2[i]),
          x.shape,
        ),
      ];
    },
  };
});

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, each output has its own shape and the gradient sums both outputs' terms`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor([1, -2, 3, 0.5, -1, 4], [6]);
      const [y1, y2] = doubleAndSquare(x);
      assert.deepEqual(y1.shape, [2, 3]);
      assert.deepEqual(y2.shape, [6]);
      assert.deepEqual([...y2.dataSync()], [1, 4, 9, 0.25, 1, 16]);
      const a = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = tf.tensor([0.5, -1, 2, 1, -3, 0.25], [6]);
      const both = tf.grad((input: tf.Tensor) => {
        const [u, v] = doubleAndSquare(input);
        return tf.add(tf.sum(tf.mul(u, a)), tf.sum(tf.mul(v, b)));
      })(x);
      // d/dx [Σ 2x·a + Σ x²·b] = 2a + 2x·b
      assert.deepEqual([...both.dataSync()], [3, 8, 18, 9, 16, 14]);
      // Only the first output feeds the loss: the second's dy arrives as zeros.
      const firstOnly = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(doubleAndSquare(input)[0], a)))(x);
      assert.deepEqual([...firstOnly.dataSync()], [2, 4, 6, 8, 10, 12]);
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });
}

test('a gradient function that returns the wrong number of gradients is named', async () => {
  await tf.setBackend('cpu');
  const broken = multiOutputGradient(([x]) => ({
    values: [tf.clone(x), tf.clone(x)],
    gradFunc: () => [tf.onesLike(x), tf.onesLike(x)],
  }));
  tf.tidy(() => {
    const x = tf.tensor([1, 2]);
    assert.throws(() => tf.grad((input: tf.Tensor) => tf.sum(broken(input)[0]))(x), /2 gradients for 1 inputs/);
  });
});

/**
 * One link of a chain: state' = 3·state and out = state + 1 from one input; the gradient (3·dState + dOut) is a
 * new tensor for the one input. `seen` records, in each backward, the dy of `state'` and whether the dy of
 * `state'` that the link before (in backward order) got is disposed by now.
 */
interface ChainRecord {
  readonly stateDys: tf.Tensor[];
  readonly previousDyFreed: boolean[];
}

function chainLink(seen: ChainRecord) {
  return multiOutputGradient(([state]) => {
    const values = state.dataSync();
    return {
      values: [
        tf.tensor(
          values.map((v) => 3 * v),
          state.shape,
        ),
        tf.tensor(
          values.map((v) => v + 1),
          state.shape,
        ),
      ],
      gradFunc: ([dState, dOut]) => {
        const previous = seen.stateDys.at(-1);
        if (previous !== undefined) seen.previousDyFreed.push(previous.isDisposed);
        seen.stateDys.push(dState);
        const a = dState.dataSync();
        const b = dOut.dataSync();
        return [
          tf.tensor(
            a.map((v, i) => 3 * v + b[i]),
            state.shape,
          ),
        ];
      },
    };
  });
}

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, a dy the next op made for that output alone is freed once used, not at the end`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const before = tf.memory().numTensors;
    const seen: ChainRecord = { stateDys: [], previousDyFreed: [] };
    const link = chainLink(seen);
    const steps = 8;
    const x = tf.tensor([1, -2, 0.5]);
    const gradient = tf.grad((input: tf.Tensor) => {
      let state = input;
      const outs: tf.Tensor[] = [];
      for (let t = 0; t < steps; t++) {
        const [next, out] = link(state);
        outs.push(tf.sum(out));
        state = next;
      }
      return tf.addN(outs);
    })(x);
    // d/dx Σ_t (3^t·x + 1) = Σ_t 3^t = (3^8 − 1) / 2 per element.
    assert.deepEqual([...gradient.dataSync()], [3280, 3280, 3280]);
    assert.equal(seen.stateDys.length, steps);
    // The last link's state dy is the tape's zeros (no consumer: left alone); every other one was made by the next
    // link, is referenced by nothing else, and is gone once its link's gradient ran.
    assert.deepEqual(seen.previousDyFreed, [false, true, true, true, true, true, true]);
    tf.dispose([x, gradient]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  test(`on ${backend}, a dy that is a sum (an output with two consumers) or the caller's is left alone`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const before = tf.memory().numTensors;
    const seen: ChainRecord = { stateDys: [], previousDyFreed: [] };
    const link = chainLink(seen);
    const x = tf.tensor([2, -1]);
    // The first link's state' feeds the second link and a plain op: its dy is tfjs's sum of the two.
    const both = tf.grad((input: tf.Tensor) => {
      const [first] = link(input);
      const [second, out] = link(first);
      return tf.add(tf.add(tf.sum(tf.mul(first, 5)), tf.sum(out)), tf.sum(second));
    })(x);
    // d/dx [5·3x + (3x + 1) + 9x] = 15 + 3 + 9.
    assert.deepEqual([...both.dataSync()], [27, 27]);
    // The second link's state dy came from a plain op: not freed by the first link.
    assert.deepEqual(seen.previousDyFreed, [false]);
    // A caller's dy reaches the op as is (here a gradient an earlier pass returned): it stays the caller's.
    const callerDy = tf.onesLike(x);
    const viaCaller = tf.grads((input: tf.Tensor) => link(input)[0])([x], callerDy);
    assert.equal(callerDy.isDisposed, false);
    assert.deepEqual([...viaCaller[0].dataSync()], [3, 3]);
    tf.dispose([x, both, callerDy, viaCaller]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });
}
