import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setFusedLstmCell } from './fused-lstm-cell';
import { StackedController, type ControllerConfig } from './stacked';
import type { ControllerState, RnnType } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

type Matrix = number[][];
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Read a variable as rows of numbers (PyTorch layout [out, in]) or a flat vector. */
function rowsOf(controller: StackedController, name: string): Matrix {
  return controller.variables.get(name)!.arraySync() as Matrix;
}
function vectorOf(controller: StackedController, name: string, size: number): number[] {
  const v = controller.variables.get(name);
  return v === undefined ? new Array(size).fill(0) : (v.arraySync() as number[]);
}
/** W·x + b for one row vector x, in float64. */
function affine(weights: Matrix, x: number[], bias: number[]): number[] {
  return weights.map((row, i) => row.reduce((s, w, j) => s + w * x[j], bias[i]));
}

/**
 * Reference stacked RNN in plain float64 from PyTorch's documented equations, reading the raw variables —
 * independent of the fused, prepared path under test.
 */
function referenceStep(
  controller: StackedController,
  input: number[],
  hidden: number[][],
  cell: number[][],
): { hidden: number[][]; cell: number[][] } {
  const { rnnType, hiddenSize: size, numHiddenLayers, nonlinearity } = controller.config;
  const gates = controller.gates * size;
  const nextHidden: number[][] = [];
  const nextCell: number[][] = [];
  let x = input;
  for (let layer = 0; layer < numHiddenLayers; layer++) {
    const gi = affine(rowsOf(controller, `weight_ih_l${layer}`), x, vectorOf(controller, `bias_ih_l${layer}`, gates));
    const gh = affine(
      rowsOf(controller, `weight_hh_l${layer}`),
      hidden[layer],
      vectorOf(controller, `bias_hh_l${layer}`, gates),
    );
    const h = hidden[layer];
    let out: number[];
    if (rnnType === 'lstm') {
      const c: number[] = [];
      out = [];
      for (let k = 0; k < size; k++) {
        const i = sigmoid(gi[k] + gh[k]);
        const f = sigmoid(gi[size + k] + gh[size + k]);
        const g = Math.tanh(gi[2 * size + k] + gh[2 * size + k]);
        const o = sigmoid(gi[3 * size + k] + gh[3 * size + k]);
        c.push(f * cell[layer][k] + i * g);
        out.push(o * Math.tanh(c[k]));
      }
      nextCell.push(c);
    } else if (rnnType === 'gru') {
      out = [];
      for (let k = 0; k < size; k++) {
        const r = sigmoid(gi[k] + gh[k]);
        const z = sigmoid(gi[size + k] + gh[size + k]);
        const n = Math.tanh(gi[2 * size + k] + r * gh[2 * size + k]);
        out.push((1 - z) * n + z * h[k]);
      }
    } else {
      out = gi.map((v, k) => (nonlinearity === 'relu' ? Math.max(0, v + gh[k]) : Math.tanh(v + gh[k])));
    }
    nextHidden.push(out);
    x = out;
  }
  return { hidden: nextHidden, cell: nextCell };
}

function config(rnnType: RnnType, extra: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    rnnType,
    inputSize: 5,
    hiddenSize: 3,
    numHiddenLayers: 2,
    bias: true,
    dropout: 0,
    nonlinearity: 'tanh',
    ...extra,
  };
}

/** Run `steps` steps on batch 2 both ways and compare; `projectedWidth` columns go through projectSequence. */
function compareWithReference(controller: StackedController, projectedWidth: number, steps = 3): void {
  const batch = 2;
  const { inputSize, hiddenSize, numHiddenLayers } = controller.config;
  const xs = tf.randomNormal([steps, batch, inputSize], 0, 1, 'float32', 7).arraySync() as number[][][];
  const hidden0 = tf
    .randomNormal([numHiddenLayers, batch, hiddenSize], 0, 0.5, 'float32', 8)
    .arraySync() as number[][][];
  const cell0 = tf.randomNormal([numHiddenLayers, batch, hiddenSize], 0, 0.5, 'float32', 9).arraySync() as number[][][];

  let state: ControllerState = {
    hidden: hidden0.map((h) => tf.tensor2d(h)),
    cell: controller.config.rnnType === 'lstm' ? cell0.map((c) => tf.tensor2d(c)) : undefined,
  };
  const prepared = controller.prepare(projectedWidth);
  const projected =
    projectedWidth > 0
      ? (tf.split(
          tf.tidy(() =>
            prepared.projectSequence(tf.tensor2d(xs.flatMap((rows) => rows.map((r) => r.slice(0, projectedWidth))))),
          ),
          steps,
          0,
        ) as tf.Tensor2D[])
      : [];
  const refHidden = [0, 1].map((b) => hidden0.map((layer) => layer[b]));
  const refCell = [0, 1].map((b) => cell0.map((layer) => layer[b]));
  for (let t = 0; t < steps; t++) {
    const rest = tf.tensor2d(xs[t].map((r) => r.slice(projectedWidth)));
    const next = prepared.step(projectedWidth < inputSize ? [rest] : [], state, { projected: projected[t] });
    state = next.state;
    for (let b = 0; b < batch; b++) {
      const ref = referenceStep(controller, xs[t][b], refHidden[b], refCell[b]);
      refHidden[b] = ref.hidden;
      refCell[b] = ref.cell;
    }
    const got = next.output.arraySync() as number[][];
    for (let b = 0; b < batch; b++) {
      got[b].forEach((v, k) =>
        assert.ok(
          Math.abs(v - refHidden[b][numHiddenLayers - 1][k]) < 1e-5,
          `t=${t} b=${b} k=${k}: ${v} vs ${refHidden[b][numHiddenLayers - 1][k]}`,
        ),
      );
    }
  }
  if (controller.config.rnnType === 'lstm') {
    const gotCell = state.cell![0].arraySync() as number[][];
    gotCell.forEach((row, b) => row.forEach((v, k) => assert.ok(Math.abs(v - refCell[b][0][k]) < 1e-5)));
  }
}

describe('StackedController', () => {
  it('names and shapes parameters like torch.nn.LSTM (i,f,g,o rows), with bias', () => {
    const controller = new StackedController(config('lstm'), 1);
    assert.deepEqual(
      [...controller.variables].map(([name, v]) => `${name} ${v.shape.join('x')}`),
      [
        'weight_ih_l0 12x5',
        'weight_hh_l0 12x3',
        'bias_ih_l0 12',
        'bias_hh_l0 12',
        'weight_ih_l1 12x3',
        'weight_hh_l1 12x3',
        'bias_ih_l1 12',
        'bias_hh_l1 12',
      ],
    );
    controller.dispose();
  });

  it('initialises uniformly in ±1/√hidden, deterministically from the seed', () => {
    const a = new StackedController(config('gru', { hiddenSize: 16 }), 3);
    const b = new StackedController(config('gru', { hiddenSize: 16 }), 3);
    const c = new StackedController(config('gru', { hiddenSize: 16 }), 4);
    const values = a.variables.get('weight_hh_l0')!.dataSync();
    assert.ok(values.every((v) => Math.abs(v) <= 0.25));
    assert.ok(Math.max(...values) > 0.2 && Math.min(...values) < -0.2, 'spread over the whole range');
    assert.deepEqual(values, b.variables.get('weight_hh_l0')!.dataSync());
    assert.notDeepEqual(values, c.variables.get('weight_hh_l0')!.dataSync());
    [a, b, c].forEach((m) => m.dispose());
  });

  it('has no bias variables with bias: false', () => {
    const controller = new StackedController(config('rnn', { bias: false }), 1);
    assert.deepEqual(
      [...controller.variables.keys()],
      ['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l1', 'weight_hh_l1'],
    );
    compareWithReference(controller, 0);
    controller.dispose();
  });

  it("lstm on the plain tfjs path (non-host backends) matches PyTorch's equations too", () => {
    setFusedLstmCell('off');
    try {
      const controller = new StackedController(config('lstm'), 13);
      compareWithReference(controller, 2);
      controller.dispose();
    } finally {
      setFusedLstmCell('auto');
    }
  });

  for (const rnnType of ['lstm', 'gru'] as const) {
    it(`${rnnType}: matches PyTorch's equations over 2 stacked layers, with and without a projected input`, () => {
      const controller = new StackedController(config(rnnType), 11);
      compareWithReference(controller, 0);
      compareWithReference(controller, 2);
      compareWithReference(controller, 5);
      controller.dispose();
    });
  }

  for (const nonlinearity of ['tanh', 'relu'] as const) {
    it(`rnn (${nonlinearity}): matches PyTorch's equations`, () => {
      const controller = new StackedController(config('rnn', { nonlinearity, numHiddenLayers: 1 }), 12);
      compareWithReference(controller, 3);
      controller.dispose();
    });
  }

  it('starts from zeros and checks passed states', () => {
    const controller = new StackedController(config('lstm'), 1);
    const state = controller.initialState(4);
    assert.equal(state.hidden.length, 2);
    assert.deepEqual(state.cell![1].shape, [4, 3]);
    assert.equal(state.hidden[0].sum().dataSync()[0], 0);
    assert.throws(
      () => controller.checkState({ hidden: state.hidden }, 4, 'hidden.controller[0]'),
      /hidden\.controller\[0\]\.cell: expected 2 tensors/,
    );
    assert.throws(() => controller.checkState(state, 5, 'h'), /h\.hidden\[0\]: expected shape \[5, 3\], got \[4, 3\]/);
    controller.dispose();
  });

  it('applies seeded dropout between layers only when training', () => {
    const controller = new StackedController(config('lstm', { dropout: 0.5, numHiddenLayers: 2 }), 5);
    const prepared = controller.prepare(0);
    const state = controller.initialState(2);
    const x = tf.randomNormal([2, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
    const seeds = (start: number) => {
      let s = start;
      return () => s++;
    };
    const evalA = prepared.step([x], state).output.dataSync();
    const evalB = prepared.step([x], state).output.dataSync();
    const trainA = prepared.step([x], state, { nextSeed: seeds(1) }).output.dataSync();
    const trainB = prepared.step([x], state, { nextSeed: seeds(1) }).output.dataSync();
    const trainC = prepared.step([x], state, { nextSeed: seeds(2) }).output.dataSync();
    assert.deepEqual(evalA, evalB);
    assert.deepEqual(trainA, trainB, 'same seeds, same masks');
    assert.notDeepEqual(trainA, evalA, 'dropout changed the second layer input');
    assert.notDeepEqual(trainA, trainC);
    controller.dispose();
  });

  it('rejects bad configs, naming the option and value', () => {
    assert.throws(
      () => new StackedController(config('lstm', { hiddenSize: 0 }), 1),
      /hiddenSize must be a positive integer, got 0/,
    );
    assert.throws(
      () => new StackedController(config('lstm', { inputSize: 2.5 }), 1),
      /inputSize must be a positive integer, got 2.5/,
    );
    assert.throws(
      () => new StackedController({ ...config('lstm'), rnnType: 'transformer' as RnnType }, 1),
      /rnnType must be one of lstm, gru, rnn, got "transformer"/,
    );
    assert.throws(() => new StackedController(config('lstm', { dropout: 1 }), 1), /dropout must be in \[0, 1\), got 1/);
  });

  it('passes gradients to every variable', () => {
    for (const rnnType of ['lstm', 'gru', 'rnn'] as const) {
      const controller = new StackedController(config(rnnType), 2);
      const x = tf.randomNormal([2, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
      const { grads, value } = tf.variableGrads(() => {
        const prepared = controller.prepare(2);
        let state = controller.initialState(2);
        let total = tf.scalar(0);
        for (let t = 0; t < 2; t++) {
          const step = prepared.step([tf.slice(x, [0, 2], [2, 3])], state, {
            projected: prepared.projectSequence(tf.slice(x, [0, 0], [2, 2])),
          });
          state = step.state;
          total = tf.add(total, tf.sum(tf.square(step.output)));
        }
        return total as tf.Scalar;
      }, [...controller.variables.values()]);
      assert.ok(value.dataSync()[0] > 0);
      assert.equal(Object.keys(grads).length, controller.variables.size, rnnType);
      for (const g of Object.values(grads)) assert.ok(g.abs().sum().dataSync()[0] > 0, `${rnnType}: zero gradient`);
      tf.dispose([grads, value, x]);
      controller.dispose();
    }
  });
});
