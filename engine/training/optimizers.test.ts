import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, globalNormClip, Optimizer, OPTIMIZER_DEFAULTS } from './optimizers';
import type { OptimizerName } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

const NAMES: OptimizerName[] = ['adam', 'adamax', 'rmsprop', 'sgd', 'adagrad', 'adadelta'];
const GRADIENTS = [0.5, -1.25, 0.03, 2.0, -0.4];

/** PyTorch's update rules in float64 on one scalar parameter, written out independently of the tensor code. */
function reference(name: OptimizerName, lr: number, start: number, gradients: number[]): number {
  const h = OPTIMIZER_DEFAULTS[name];
  let p = start;
  let a = 0;
  let b = 0;
  gradients.forEach((g, index) => {
    const t = index + 1;
    if (name === 'adam') {
      a = h.beta1 * a + (1 - h.beta1) * g;
      b = h.beta2 * b + (1 - h.beta2) * g * g;
      p -= (lr / (1 - h.beta1 ** t)) * (a / (Math.sqrt(b) / Math.sqrt(1 - h.beta2 ** t) + h.epsilon));
    } else if (name === 'adamax') {
      a = h.beta1 * a + (1 - h.beta1) * g;
      b = Math.max(h.beta2 * b, Math.abs(g) + h.epsilon);
      p -= (lr / (1 - h.beta1 ** t)) * (a / b);
    } else if (name === 'rmsprop') {
      a = h.alpha * a + (1 - h.alpha) * g * g;
      b = h.momentum * b + g / (Math.sqrt(a) + h.epsilon);
      p -= lr * b;
    } else if (name === 'sgd') {
      p -= lr * g;
    } else if (name === 'adagrad') {
      a += g * g;
      p -= (lr * g) / (Math.sqrt(a) + h.epsilon);
    } else {
      a = h.rho * a + (1 - h.rho) * g * g;
      const delta = (Math.sqrt(b + h.epsilon) / Math.sqrt(a + h.epsilon)) * g;
      b = h.rho * b + (1 - h.rho) * delta * delta;
      p -= lr * delta;
    }
  });
  return p;
}

for (const name of NAMES) {
  test(`${name} follows PyTorch's update rule`, () => {
    const weight = tf.variable(tf.tensor1d([1, -2]), true, `w_${name}`);
    const optimizer = new Optimizer(name, 0.05, new Map([['w', weight]]));
    for (const g of GRADIENTS) {
      const gradient = tf.tensor1d([g, -g]);
      optimizer.apply({ w: gradient });
      gradient.dispose();
    }
    const [first, second] = weight.dataSync();
    assert.ok(Math.abs(first - reference(name, 0.05, 1, GRADIENTS)) < 1e-5, `${first}`);
    assert.ok(
      Math.abs(
        second -
          reference(
            name,
            0.05,
            -2,
            GRADIENTS.map((g) => -g),
          ),
      ) < 1e-5,
      `${second}`,
    );
    assert.equal(optimizer.step, GRADIENTS.length);
    optimizer.dispose();
    weight.dispose();
  });

  test(`${name}: snapshot + restore continues bit-exactly and leaks no tensors`, async () => {
    const makeWeights = () =>
      new Map([
        [
          'w',
          tf.variable(
            tf.tensor2d([
              [0.3, -0.7],
              [1.1, 0.2],
            ]),
            true,
          ),
        ],
      ]);
    const straightWeights = makeWeights();
    const straight = new Optimizer(name, 0.01, straightWeights);
    const grads = GRADIENTS.map((g, i) =>
      tf.tensor2d([
        [g, i * 0.1],
        [-g, 0.5 - i],
      ]),
    );
    grads.slice(0, 3).forEach((g) => straight.apply({ w: g }));
    const snapshot = await straight.snapshot();
    const resumedWeights = new Map([['w', tf.variable(straightWeights.get('w')!.clone(), true)]]);
    const before = tf.memory().numTensors;
    const resumed = new Optimizer(name, 0.5, resumedWeights);
    resumed.restore(snapshot);
    assert.equal(resumed.learningRate, 0.01);
    for (const g of grads.slice(3)) {
      straight.apply({ w: g });
      resumed.apply({ w: g });
    }
    assert.deepEqual(resumedWeights.get('w')!.dataSync(), straightWeights.get('w')!.dataSync());
    resumed.dispose();
    resumedWeights.get('w')!.dispose();
    assert.equal(tf.memory().numTensors, before - 1, 'only the copied weight is gone');
    straight.dispose();
    straightWeights.get('w')!.dispose();
    tf.dispose(grads);
  });
}

test('restore refuses a snapshot of another optimizer or shape', async () => {
  const weights = new Map([['w', tf.variable(tf.zeros([3]), true)]]);
  const adam = new Optimizer('adam', 0.1, weights);
  const snapshot = await adam.snapshot();
  const rmsprop = new Optimizer('rmsprop', 0.1, weights);
  assert.throws(() => rmsprop.restore(snapshot), /snapshot is for 'adam', this optimizer is 'rmsprop'/);
  const other = new Optimizer('adam', 0.1, new Map([['w', tf.variable(tf.zeros([4]), true)]]));
  assert.throws(() => other.restore(snapshot), /slot w\/exp_avg has shape \[3\], expected \[4\]/);
  assert.throws(() => (adam.learningRate = Number.NaN), /learning rate must be a positive finite number, got NaN/);
  adam.dispose();
  rmsprop.dispose();
  other.dispose();
});

test('clipByGlobalNorm scales to maxNorm like clip_grad_norm_ and leaves small gradients alone', () => {
  const gradients = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) };
  const { clipped, norm } = clipByGlobalNorm(gradients, 2.5);
  assert.ok(Math.abs(norm.dataSync()[0] - 5) < 1e-6);
  const scale = 2.5 / (5 + 1e-6);
  assert.ok(Math.abs(clipped.a.dataSync()[0] - 3 * scale) < 1e-6);
  assert.ok(Math.abs(clipped.b.dataSync()[1] - 4 * scale) < 1e-6);
  const loose = clipByGlobalNorm(gradients, 50);
  assert.deepEqual(Array.from(loose.clipped.a.dataSync()), [3, 0]);
  tf.dispose([gradients.a, gradients.b, clipped.a, clipped.b, norm, loose.clipped.a, loose.clipped.b, loose.norm]);
});

test('apply with a clip scale equals apply of the clipped gradients bit for bit; a non-scalar scale is refused', () => {
  for (const name of NAMES) {
    const parameters = new Map<string, tf.Variable>([
      ['a', tf.variable(tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]))],
      ['b', tf.variable(tf.tensor1d([1, -0.5, 0.75]))],
    ]);
    const twins = new Map([...parameters].map(([key, v]) => [key, tf.variable(v.clone())]));
    const scaled = new Optimizer(name, 0.1, parameters);
    const clippedFirst = new Optimizer(name, 0.1, twins);
    for (let step = 0; step < 3; step++) {
      const gradients = {
        a: tf.randomNormal([2, 2], 0, 3 + step, 'float32', step),
        b: tf.randomNormal([3], 0, 2, 'float32', 9 + step),
      };
      const { norm, factor } = globalNormClip(gradients, 1.5);
      const { clipped, norm: sameNorm } = clipByGlobalNorm(gradients, 1.5);
      assert.ok(factor.dataSync()[0] < 1, 'the case clips');
      scaled.apply(gradients, { scale: factor });
      clippedFirst.apply(clipped);
      tf.dispose([norm, factor, sameNorm, ...Object.values(clipped), ...Object.values(gradients)]);
    }
    for (const [key, variable] of parameters) {
      assert.deepEqual(Array.from(variable.dataSync()), Array.from(twins.get(key)?.dataSync() ?? []), `${name} ${key}`);
    }
    const vector = tf.tensor1d([1, 2]);
    const gradients = { a: tf.zeros([2, 2]), b: tf.zeros([3]) };
    assert.throws(
      () => scaled.apply(gradients, { scale: vector as unknown as tf.Scalar }),
      /scale must be a scalar.*\[2\]/,
    );
    tf.dispose([vector, ...Object.values(gradients), ...parameters.values(), ...twins.values()]);
    scaled.dispose();
    clippedFirst.dispose();
  }
});

test('one flat update of many parameters equals one optimizer each, bit for bit; snapshot per parameter', async () => {
  for (const name of NAMES) {
    const shapes: [string, number[]][] = [
      ['a', [2, 3]],
      ['b', [4]],
      ['c', [1, 1]],
    ];
    const initial = (index: number, size: number) => Array.from({ length: size }, (_, k) => Math.sin(index * 7 + k));
    const makeWeights = () =>
      new Map(
        shapes.map(([key, shape], index) => [
          key,
          tf.variable(
            tf.tensor(
              initial(
                index,
                shape.reduce((x, y) => x * y, 1),
              ),
              shape,
            ),
            true,
          ),
        ]),
      );
    const together = makeWeights();
    const apart = makeWeights();
    const joint = new Optimizer(name, 0.02, together);
    const singles = [...apart].map(([key, variable]) => new Optimizer(name, 0.02, new Map([[key, variable]])));
    for (const [step, g] of GRADIENTS.entries()) {
      const gradients = Object.fromEntries(
        shapes.map(([key, shape], index) => [key, tf.mul(tf.fill(shape, g), index + 1 + step * 0.1)]),
      );
      joint.apply(gradients);
      singles.forEach((single, index) => single.apply({ [shapes[index][0]]: gradients[shapes[index][0]] }));
      tf.dispose(Object.values(gradients));
    }
    for (const [key] of shapes) {
      assert.deepEqual(together.get(key)!.dataSync(), apart.get(key)!.dataSync(), `${name}: parameter ${key}`);
    }
    const jointSlots = (await joint.snapshot()).slots;
    const singleSlots = (await Promise.all(singles.map((single) => single.snapshot()))).flatMap(
      (snapshot) => snapshot.slots,
    );
    assert.deepEqual(jointSlots, singleSlots, `${name}: slots in parameter order with their own shapes and values`);
    joint.dispose();
    singles.forEach((single) => single.dispose());
    [...together.values(), ...apart.values()].forEach((variable) => variable.dispose());
  }
});

test('apply names a gradient whose shape differs from its parameter', () => {
  const weight = tf.variable(tf.zeros([2, 2]), true);
  const optimizer = new Optimizer('adam', 0.1, new Map([['w', weight]]));
  const gradient = tf.zeros([4]);
  assert.throws(
    () => optimizer.apply({ w: gradient }),
    /Optimizer.apply: gradient for 'w' has shape \[4\], the parameter \[2, 2\]/,
  );
  assert.equal(optimizer.step, 0, 'a refused update does not count');
  tf.dispose([weight, gradient]);
  optimizer.dispose();
});
