import assert from 'node:assert/strict';
import { before, describe, it, mock } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DNC, type DNCOptions } from './dnc';
import { hiddenTensors, type DNCHidden } from './dnc-hidden';
import { findTensor, type FrameTensor } from './frames';
import { DenseMemory } from './memory/dense-memory';

before(async () => {
  await tf.setBackend('cpu');
});

/** Small unequal sizes: X 3, H 5, N 6, W 4, R 2. */
const SMALL: DNCOptions = {
  inputSize: 3,
  hiddenSize: 5,
  nrCells: 6,
  cellSize: 4,
  readHeads: 2,
  numHiddenLayers: 1,
  seed: 3,
};

function input(batch: number, time: number, width = 3, seed = 1): tf.Tensor3D {
  return tf.randomUniform([batch, time, width], -1, 1, 'float32', seed) as tf.Tensor3D;
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('DNC options', () => {
  const bad: [Partial<DNCOptions> & Record<string, unknown>, RegExp][] = [
    [{ nrCells: 0 }, /option 'nrCells' must be a positive integer, got 0/],
    [{ readHeads: -1 }, /option 'readHeads' must be a positive integer, got -1/],
    [{ cellSize: 2.5 }, /option 'cellSize' must be a positive integer, got 2.5/],
    [{ hiddenSize: Number.NaN }, /option 'hiddenSize' must be a positive integer, got NaN/],
    [{ rnnType: 'transformer' as 'lstm' }, /option 'rnnType' must be one of lstm, gru, rnn, got "transformer"/],
    [{ nonlinearity: 'sigmoid' as 'tanh' }, /option 'nonlinearity' must be one of tanh, relu, got "sigmoid"/],
    [{ dropout: 1.5 }, /option 'dropout' must be a number in \[0, 1\), got 1.5/],
    [{ clip: -1 }, /option 'clip' must be a finite number ≥ 0/],
    [{ memoryType: 'ntm' as 'dnc' }, /option 'memoryType' must be one of dnc, sam, sdnc, got "ntm"/],
    [{ batchFirst: 'yes' as unknown as boolean }, /option 'batchFirst' must be a boolean, got "yes"/],
    [{ nr_cells: 4 }, /unknown option 'nr_cells'/],
  ];
  for (const [override, message] of bad) {
    it(`rejects ${JSON.stringify(override)}`, () => {
      assert.throws(() => new DNC({ ...SMALL, ...override } as DNCOptions), message);
    });
  }

  it('takes pytorch-dnc defaults', () => {
    const model = new DNC({ inputSize: 6, hiddenSize: 8, seed: 1 });
    const o = model.options;
    assert.deepEqual(
      [
        o.rnnType,
        o.numLayers,
        o.numHiddenLayers,
        o.bias,
        o.batchFirst,
        o.dropout,
        o.nrCells,
        o.readHeads,
        o.cellSize,
        o.clip,
        o.shareMemory,
        o.outputSize,
      ],
      ['lstm', 1, 2, true, true, 0, 5, 2, 10, 20, true, 6],
    );
    model.dispose();
  });
});

describe('DNC forward', () => {
  it('rejects bad inputs and hidden states, naming the argument and value', () => {
    const model = new DNC(SMALL);
    const flat = tf.zeros([2, 3]) as unknown as tf.Tensor3D;
    assert.throws(
      () => model.forward(flat),
      /argument 'input' must have rank 3 \(\[batch, time, inputSize\]\), got shape \[2, 3\]/,
    );
    const wide = input(2, 4, 5);
    assert.throws(
      () => model.forward(wide),
      /argument 'input' must have 3 features \(inputSize\) on its last axis, got shape \[2, 4, 5\]/,
    );
    const x = input(2, 4);
    const hidden = model.initialHidden(3);
    assert.throws(
      () => model.forward(x, hidden),
      /hidden.controller\[0\].hidden\[0\]: expected shape \[2, 5\], got \[3, 5\]/,
    );
    const broken: DNCHidden = { ...model.initialHidden(2), readVectors: [] };
    assert.throws(() => model.forward(x, broken), /hidden.readVectors must have 1 entries \(numLayers\), got 0/);
    tf.dispose([flat, wide, x]);
    model.disposeHidden(hidden);
    model.disposeHidden(broken);
    model.dispose();
  });

  const variants: [string, Partial<DNCOptions>, string[]][] = [
    [
      'lstm',
      {},
      [
        'lstm_layer_0.weight_ih_l0',
        'lstm_layer_0.weight_hh_l0',
        'lstm_layer_0.bias_ih_l0',
        'lstm_layer_0.bias_hh_l0',
        'rnn_layer_memory_shared.interface_weights.weight',
        'rnn_layer_memory_shared.interface_weights.bias',
        'output.weight',
        'output.bias',
      ],
    ],
    ['gru', { rnnType: 'gru', numHiddenLayers: 2 }, ['gru_layer_0.weight_ih_l1']],
    [
      'rnn relu, no bias',
      { rnnType: 'rnn', nonlinearity: 'relu', bias: false },
      ['rnn_layer_0.weight_ih_l0', 'rnn_layer_0.weight_hh_l0'],
    ],
    [
      '2 layers, shared memory',
      { numLayers: 2 },
      ['lstm_layer_1.weight_ih_l0', 'rnn_layer_memory_shared.interface_weights.weight'],
    ],
    [
      '2 layers, memory per layer',
      { numLayers: 2, shareMemory: false },
      ['rnn_layer_memory_0.interface_weights.weight', 'rnn_layer_memory_1.interface_weights.weight'],
    ],
    [
      'independent linears',
      { independentLinears: true },
      ['rnn_layer_memory_shared.read_keys_transform.weight', 'rnn_layer_memory_shared.read_modes_transform.bias'],
    ],
    ['time-major, output size 7', { batchFirst: false, outputSize: 7 }, ['output.weight']],
  ];
  for (const [label, override, names] of variants) {
    it(`${label}: runs with pytorch-dnc names and correct shapes`, () => {
      const model = new DNC({ ...SMALL, ...override });
      const o = model.options;
      for (const name of names)
        assert.ok(model.variables.has(name), `missing ${name}; have ${[...model.variables.keys()].join(', ')}`);
      if (o.rnnType === 'rnn' && !o.bias) assert.ok(![...model.variables.keys()].some((n) => n.includes('bias_ih')));
      // layer ℓ > 0 reads [ξ; r]: H + R·W columns
      if (o.numLayers === 2) assert.deepEqual(model.variables.get('lstm_layer_1.weight_ih_l0')!.shape, [4 * 5, 5 + 8]);
      assert.deepEqual(model.variables.get('output.weight')!.shape, [o.outputSize, 5 + 8]);
      const x = o.batchFirst ? input(2, 4) : input(4, 2);
      const { output, hidden } = model.forward(x);
      assert.deepEqual(output.shape, o.batchFirst ? [2, 4, o.outputSize] : [4, 2, o.outputSize]);
      assert.equal(hidden.controller.length, o.numLayers);
      assert.equal(hidden.memory.length, o.shareMemory ? 1 : o.numLayers);
      assert.deepEqual(
        hidden.readVectors.map((r) => r.shape),
        Array(o.numLayers).fill([2, 8]),
      );
      assert.deepEqual(hidden.memory[0].memory.shape, [2, 6, 4]);
      assert.ok(output.dataSync().every(Number.isFinite));
      tf.dispose([x, output]);
      model.disposeHidden(hidden);
      model.dispose();
    });
  }

  for (const numLayers of [1, 2]) {
    it(
      `paper semantics (${numLayers} layer${numLayers > 1 ? 's' : ''}): one call over T steps equals T one-step ` +
        `calls`,
      () => {
        const model = new DNC({ ...SMALL, numLayers, numHiddenLayers: 2 });
        const x = input(2, 5);
        const whole = model.forward(x);
        let hidden = model.initialHidden(2);
        const steps: tf.Tensor3D[] = [];
        for (let t = 0; t < 5; t++) {
          const xt = tf.slice(x, [0, t, 0], [2, 1, 3]);
          const step = model.forward(xt, hidden);
          model.disposeHidden(hidden);
          hidden = step.hidden;
          steps.push(step.output);
          xt.dispose();
        }
        const joined = tf.concat(steps, 1);
        assert.ok(maxDifference(joined, whole.output) < 1e-6);
        assert.ok(maxDifference(hidden.memory[0].memory, whole.hidden.memory[0].memory) < 1e-6);
        assert.ok(maxDifference(hidden.readVectors[numLayers - 1], whole.hidden.readVectors[numLayers - 1]) < 1e-6);
        tf.dispose([x, joined, whole.output, ...steps]);
        model.disposeHidden(hidden);
        model.disposeHidden(whole.hidden);
        model.dispose();
      },
    );
  }

  it("readFeedback 'initial' (pytorch-dnc single call) agrees at t = 0 and diverges after", () => {
    const model = new DNC(SMALL);
    const x = input(2, 4);
    const start = model.initialHidden(2);
    const reads = tf.randomUniform([2, 8], -1, 1, 'float32', 4) as tf.Tensor2D;
    const hidden: DNCHidden = { ...start, readVectors: [reads] };
    const paper = model.forward(x, hidden);
    const initial = model.forward(x, hidden, { readFeedback: 'initial' });
    const first = (t: tf.Tensor3D) => tf.slice(t, [0, 0, 0], [2, 1, 3]);
    assert.ok(maxDifference(first(paper.output), first(initial.output)) < 1e-7);
    assert.ok(maxDifference(paper.output, initial.output) > 1e-4);
    model.disposeHidden(hidden);
    [paper, initial].forEach((r) => {
      r.output.dispose();
      model.disposeHidden(r.hidden);
    });
    tf.dispose([x, start.readVectors[0]]);
    model.dispose();
  });

  it('passThroughMemory false leaves memory untouched and reads zeros; resetExperience restarts the memory', () => {
    const model = new DNC(SMALL);
    const x = input(2, 3);
    const first = model.forward(x);
    const skipped = model.forward(x, first.hidden, { passThroughMemory: false });
    assert.equal(maxDifference(skipped.hidden.memory[0].memory, first.hidden.memory[0].memory), 0);
    assert.notEqual(
      skipped.hidden.memory[0].memory,
      first.hidden.memory[0].memory,
      'returned state must not alias the input',
    );
    assert.equal(
      tf.tidy(() => tf.abs(skipped.hidden.readVectors[0]).sum().dataSync()[0]),
      0,
    );
    const reset = model.forward(x, first.hidden, { resetExperience: true });
    const fresh = model.forward(x, { ...first.hidden, memory: model.initialHidden(2).memory });
    assert.ok(maxDifference(reset.output, fresh.output) < 1e-7);
    for (const r of [first, skipped, reset, fresh]) {
      r.output.dispose();
      model.disposeHidden(r.hidden);
    }
    x.dispose();
    model.dispose();
  });

  it('is deterministic from the seed, and dropout acts only in training', () => {
    const a = new DNC({ ...SMALL, numHiddenLayers: 2, dropout: 0.5 });
    const b = new DNC({ ...SMALL, numHiddenLayers: 2, dropout: 0.5 });
    for (const [name, v] of a.variables) assert.deepEqual(v.dataSync(), b.variables.get(name)!.dataSync(), name);
    const x = input(2, 3);
    const run = (model: DNC, training: boolean) => {
      const r = model.forward(x, undefined, { training });
      model.disposeHidden(r.hidden);
      const data = r.output.dataSync();
      r.output.dispose();
      return data;
    };
    assert.deepEqual(run(a, false), run(a, false));
    const trainedA = run(a, true);
    assert.notDeepEqual(trainedA, run(a, false));
    assert.deepEqual(trainedA, run(b, true), 'same seed, same dropout masks');
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('does not leak tensors over repeated forward + dispose, with and without debug, and under a tape', () => {
    for (const debug of [false, true]) {
      const model = new DNC({ ...SMALL, numLayers: 2, debug });
      const x = input(2, 4);
      const once = () => {
        const r = model.forward(x);
        r.output.dispose();
        model.disposeHidden(r.hidden);
      };
      once();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) once();
      assert.equal(tf.memory().numTensors, before, `debug ${debug}`);
      const train = () => {
        const { value, grads } = tf.variableGrads(() => {
          const r = model.forward(x, undefined, { training: true });
          model.disposeHidden(r.hidden);
          return tf.mean(tf.square(r.output)) as tf.Scalar;
        });
        tf.dispose([value, grads]);
      };
      train();
      const beforeTrain = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) train();
      assert.equal(tf.memory().numTensors, beforeTrain, `training, debug ${debug}`);
      x.dispose();
      model.dispose();
    }
  });

  it('frees on dispose every tensor its constructor made, for each memory and controller kind', () => {
    for (const memoryType of ['dnc', 'sam', 'sdnc'] as const) {
      for (const rnnType of ['lstm', 'gru', 'rnn'] as const) {
        const before = tf.memory().numTensors;
        const model = new DNC({ ...SMALL, numLayers: 2, numHiddenLayers: 2, memoryType, rnnType });
        assert.ok(tf.memory().numTensors > before, 'the model made its weights');
        model.dispose();
        assert.equal(tf.memory().numTensors, before, `${memoryType}, ${rnnType}`);
      }
    }
  });
});

describe('DNC clipping', () => {
  for (const [label, override, clip] of [
    ['lstm, clip below 1', { rnnType: 'lstm' }, 0.05],
    ['relu rnn', { rnnType: 'rnn', nonlinearity: 'relu' }, 0.5],
  ] as const) {
    it(`clamps ξ to ±clip (${label})`, () => {
      const model = new DNC({ ...SMALL, ...override, clip, debug: true });
      const x = tf.mul(input(2, 4), 5) as tf.Tensor3D;
      const { output, hidden, debug } = model.forward(x);
      const xi = debug === undefined ? undefined : findTensor(debug, 'controllerOutput');
      if (xi === undefined) throw new Error('no controllerOutput in the debug frame');
      assert.ok(xi.data.every((v) => Math.abs(v) <= clip + 1e-7));
      assert.ok(
        xi.data.some((v) => Math.abs(v) > clip - 1e-6),
        'some outputs reach the clip',
      );
      tf.dispose([x, output]);
      model.disposeHidden(hidden);
      model.dispose();
    });
  }
});

describe('DNC one-step calls', () => {
  it('computes gradients for a single-timestep input (the stepwise training path)', () => {
    const model = new DNC(SMALL);
    const x = input(2, 1);
    const { value, grads } = tf.variableGrads(() => {
      const r = model.forward(x);
      model.disposeHidden(r.hidden);
      return tf.sum(tf.square(r.output)) as tf.Scalar;
    });
    assert.equal(Object.keys(grads).length, model.variables.size);
    assert.ok(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite)));
    tf.dispose([value, grads, x]);
    model.dispose();
  });
});

describe('DNC debug frames', () => {
  it('stacks every step of every layer, read out once per call, consistent with the final state', () => {
    const model = new DNC({ ...SMALL, numLayers: 2, shareMemory: false, debug: true });
    const x = input(2, 4);
    // Host-memory backends run typed-array kernels that read their inputs; debug output must add one readout.
    const plainModel = new DNC({ ...SMALL, numLayers: 2, shareMemory: false });
    const readSpy = mock.method(tf.Tensor.prototype, 'dataSync');
    const plain = plainModel.forward(x);
    const readsWithoutDebug = readSpy.mock.callCount();
    const { output, hidden, debug } = model.forward(x);
    assert.equal(
      readSpy.mock.callCount() - readsWithoutDebug,
      readsWithoutDebug + 1,
      'debug adds one host readout per call',
    );
    readSpy.mock.restore();
    plain.output.dispose();
    plainModel.disposeHidden(plain.hidden);
    plainModel.dispose();
    if (debug === undefined) throw new Error('forward returned no debug frame');
    assert.equal(debug.timesteps, 4);
    for (const layer of [0, 1]) {
      const memory: FrameTensor = findTensor(debug, 'memory', layer)!;
      assert.deepEqual(memory.shape, [4, 6, 4]);
      assert.deepEqual(memory.axes, ['time', 'cell', 'word']);
      const linkMatrix: FrameTensor = findTensor(debug, 'linkMatrix', layer)!;
      assert.deepEqual(linkMatrix.shape, [4, 6, 6]);
      assert.deepEqual(findTensor(debug, 'readWeights', layer)!.axes, ['time', 'head', 'cell']);
      assert.deepEqual(findTensor(debug, 'usage', layer)!.shape, [4, 6]);
      const xi: FrameTensor = findTensor(debug, 'controllerOutput', layer)!;
      assert.deepEqual(
        [xi.shape, xi.axes],
        [
          [4, 5],
          ['time', 'unit'],
        ],
      );
      // The last timestep of batch element 0 is the returned state's batch row 0.
      const lastMemory = memory.data.subarray(3 * 24, 4 * 24);
      assert.deepEqual(Array.from(lastMemory), Array.from(hidden.memory[layer].memory.dataSync().subarray(0, 24)));
      const reads: FrameTensor = findTensor(debug, 'readVectors', layer)!;
      assert.deepEqual(
        Array.from(reads.data.subarray(3 * 8)),
        Array.from(hidden.readVectors[layer].dataSync().subarray(0, 8)),
      );
      const lastLinks = linkMatrix.data.subarray(3 * 36);
      for (let i = 0; i < 6; i++) assert.equal(lastLinks[i * 6 + i], 0, 'zero link diagonal');
      const lastWeights = findTensor(debug, 'readWeights', layer)!.data.subarray(3 * 12);
      assert.ok(lastWeights.every((v) => v >= 0 && v <= 1));
    }
    output.dispose();
    model.disposeHidden(hidden);
    x.dispose();
    model.dispose();
  });

  it('creates no debug output without debug: the memory steps are not asked for it', () => {
    const model = new DNC(SMALL);
    const spy = mock.method(DenseMemory.prototype, 'step');
    const x = input(2, 3);
    const result = model.forward(x);
    assert.equal(result.debug, undefined);
    assert.equal(spy.mock.callCount(), 3);
    assert.ok(spy.mock.calls.every((call) => call.arguments[2]?.debug === false));
    spy.mock.restore();
    result.output.dispose();
    model.disposeHidden(result.hidden);
    x.dispose();
    model.dispose();
  });
});

describe('DNC gradients', () => {
  it('match central finite differences on a whole small DNC (cpu, float32)', () => {
    // Tolerance: float32 loss rounding (~1e-7 relative) over a difference of 2·1e-2 gives ~1e-5 absolute noise,
    // and the O(eps²) truncation of the central difference stays below ~1e-4 here; allow 2e-3 + 3% relative.
    const epsilon = 1e-2;
    const model = new DNC({ ...SMALL, numHiddenLayers: 2, seed: 11 });
    const x = input(2, 3, 3, 5);
    const projection = tf.randomUniform([2, 3, 3], -1, 1, 'float32', 6);
    const loss = () =>
      tf.tidy(() => {
        const r = model.forward(x);
        return tf.sum(tf.mul(r.output, projection)) as tf.Scalar;
      });
    const { grads } = tf.variableGrads(loss);
    let checked = 0;
    for (const [name, variable] of model.variables) {
      const analytic = grads[variable.name].dataSync();
      const values = variable.dataSync().slice();
      for (let k = 0; k < 4; k++) {
        const index = Math.floor((((k * 7919 + name.length * 104729) % 1000) / 1000) * values.length);
        const evaluate = (delta: number) => {
          const moved = values.slice();
          moved[index] += delta;
          variable.assign(tf.tensor(moved, variable.shape));
          const value = loss();
          const result = value.dataSync()[0];
          value.dispose();
          return result;
        };
        const numeric = (evaluate(epsilon) - evaluate(-epsilon)) / (2 * epsilon);
        variable.assign(tf.tensor(values, variable.shape));
        const tolerance = 2e-3 + 0.03 * Math.abs(numeric);
        assert.ok(
          Math.abs(numeric - analytic[index]) <= tolerance,
          `${name}[${index}]: analytic ${analytic[index]} vs numeric ${numeric}`,
        );
        checked++;
      }
    }
    assert.equal(checked, 4 * model.variables.size);
    tf.dispose([grads, x, projection]);
    model.dispose();
  });
});

describe('DNC.loadStateDict', () => {
  it('loads by name and rejects missing, unexpected and misshapen entries without partial loads', () => {
    const source = new DNC({ ...SMALL, seed: 1 });
    const target = new DNC({ ...SMALL, seed: 2 });
    const dict = Object.fromEntries(
      [...source.variables].map(([name, v]) => [name, { shape: v.shape, data: Array.from(v.dataSync()) }]),
    );
    const before = target.variables.get('output.bias')!.dataSync().slice();
    const { 'output.bias': _dropped, ...missing } = dict;
    assert.throws(() => target.loadStateDict(missing), /missing output.bias; unexpected none/);
    assert.throws(
      () => target.loadStateDict({ ...dict, 'extra.weight': { shape: [1], data: [0] } }),
      /unexpected extra.weight/,
    );
    assert.throws(
      () => target.loadStateDict({ ...dict, 'output.weight': { shape: [13, 3], data: new Array(39).fill(0) } }),
      /'output.weight' has shape \[13, 3\], the model expects \[3, 13\]/,
    );
    assert.deepEqual(target.variables.get('output.bias')!.dataSync(), before);
    target.loadStateDict(dict);
    for (const [name, v] of target.variables)
      assert.deepEqual(v.dataSync(), source.variables.get(name)!.dataSync(), name);
    source.dispose();
    target.dispose();
  });

  it('lists every tensor of a hidden state once for disposal', () => {
    const model = new DNC({ ...SMALL, numHiddenLayers: 2 });
    const hidden = model.initialHidden(2);
    // 2 hidden + 2 cell, 6 memory state tensors, 1 read vector
    assert.equal(hiddenTensors(hidden).length, 11);
    model.disposeHidden(hidden);
    assert.ok(hiddenTensors(hidden).every((t) => t.isDisposed));
    model.dispose();
  });
});
