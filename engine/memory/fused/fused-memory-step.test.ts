/**
 * The fused memory step as a tfjs op: pytorch-dnc's recorded memory steps (fixtures), gradients through the tape
 * equal the kernel's Float64 gradients (so the wiring of inputs, split and reshape is right), shape errors, leaks.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { readParityFixture } from '../../parity/fixtures';
import { denseStepForward } from './dense-step-kernel';
import { DENSE_STEP_INPUT_NAMES, densePackedLayout, type DenseStepInputName } from './dense-step-layout';
import { denseStepBackward } from './dense-step-kernel-backward';
import { fusedMemoryStep, type FusedDenseInterface, type FusedDenseState } from './fused-memory-step';

const TOLERANCE = 1e-5;

interface FixtureTensor {
  readonly shape: number[];
  readonly data: number[];
}
type FixtureRecord = Readonly<Record<string, FixtureTensor>>;
interface MemoryFixture {
  readonly config: {
    readonly batch: number;
    readonly nr_cells: number;
    readonly cell_size: number;
    readonly read_heads: number;
  };
  readonly initial_state: FixtureRecord;
  readonly steps: readonly {
    readonly parsed_interface: FixtureRecord;
    readonly intermediates: FixtureRecord & { readonly allocation_ties: unknown };
    readonly state_after: FixtureRecord;
    readonly read_vectors: FixtureTensor;
  }[];
}

function loadFixture(name: string): MemoryFixture {
  return readParityFixture(name) as MemoryFixture;
}

function fixtureTensor(value: FixtureTensor, shape: number[]): tf.Tensor {
  return tf.tensor(value.data, shape, 'float32');
}

function fixtureInterface(
  parsed: FixtureRecord,
  batch: number,
  _cells: number,
  width: number,
  heads: number,
): FusedDenseInterface {
  return {
    readKeys: fixtureTensor(parsed.read_keys, [batch, heads, width]) as tf.Tensor3D,
    readStrengths: fixtureTensor(parsed.read_strengths, [batch, heads]) as tf.Tensor2D,
    writeKey: fixtureTensor(parsed.write_key, [batch, width]) as tf.Tensor2D,
    writeStrength: fixtureTensor(parsed.write_strength, [batch]) as tf.Tensor1D,
    eraseVector: fixtureTensor(parsed.erase_vector, [batch, width]) as tf.Tensor2D,
    writeVector: fixtureTensor(parsed.write_vector, [batch, width]) as tf.Tensor2D,
    freeGates: fixtureTensor(parsed.free_gates, [batch, heads]) as tf.Tensor2D,
    // The parser's [batch, 1] form, so both accepted shapes are exercised.
    allocationGate: fixtureTensor(parsed.allocation_gate, [batch, 1]) as tf.Tensor2D,
    writeGate: fixtureTensor(parsed.write_gate, [batch]) as tf.Tensor1D,
    readModes: fixtureTensor(parsed.read_modes, [batch, heads, 3]) as tf.Tensor3D,
  };
}

function fixtureState(
  state: FixtureRecord,
  batch: number,
  cells: number,
  width: number,
  heads: number,
): FusedDenseState {
  return {
    memory: fixtureTensor(state.memory, [batch, cells, width]) as tf.Tensor3D,
    linkMatrix: fixtureTensor(state.link_matrix, [batch, cells, cells]) as tf.Tensor3D,
    precedence: fixtureTensor(state.precedence, [batch, cells]) as tf.Tensor2D,
    readWeights: fixtureTensor(state.read_weights, [batch, heads, cells]) as tf.Tensor3D,
    writeWeights: fixtureTensor(state.write_weights, [batch, cells]) as tf.Tensor2D,
    usage: fixtureTensor(state.usage_vector, [batch, cells]) as tf.Tensor2D,
  };
}

function assertClose(actual: tf.Tensor, expected: readonly number[], what: string): void {
  const values = actual.dataSync();
  assert.equal(values.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]));
  assert.ok(worst <= TOLERANCE, `${what}: max |fused − pytorch-dnc| = ${worst}`);
}

before(async () => {
  await tf.setBackend('cpu');
});

const STATE_FIXTURE_NAMES: Readonly<Record<keyof FusedDenseState & string, string>> = {
  memory: 'memory',
  linkMatrix: 'link_matrix',
  precedence: 'precedence',
  readWeights: 'read_weights',
  writeWeights: 'write_weights',
  usage: 'usage_vector',
};

for (const file of ['memory_A.json', 'memory_A_randinit.json', 'memory_A_independent_linears.json']) {
  test(`reproduces pytorch-dnc's recorded memory steps in ${file}`, () => {
    const fixture = loadFixture(file);
    const { batch, nr_cells: cells, cell_size: width, read_heads: heads } = fixture.config;
    let comparedStates = 0;
    tf.tidy(() => {
      fixture.steps.forEach((step, t) => {
        // Each step starts from the recorded previous state, so a permuted tie step cannot leak into the next.
        const prev = fixtureState(
          t === 0 ? fixture.initial_state : fixture.steps[t - 1].state_after,
          batch,
          cells,
          width,
          heads,
        );
        const parsed = fixtureInterface(step.parsed_interface, batch, cells, width, heads);
        const result = fusedMemoryStep(parsed, prev, { debug: true });
        assertClose(result.readVectors, step.read_vectors.data, `${file} step ${t} readVectors`);
        const ties = step.intermediates.allocation_ties;
        if (Array.isArray(ties) && ties.some((tie) => tie === true)) return;
        // Tie-free: every cell is where pytorch-dnc put it.
        for (const [name, fixtureName] of Object.entries(STATE_FIXTURE_NAMES)) {
          assertClose(result.state[name], step.state_after[fixtureName].data, `${file} step ${t} ${name}`);
        }
        const debug = result.debug;
        assert.ok(debug !== undefined);
        const firstRow = (value: FixtureTensor, size: number) => value.data.slice(0, size);
        assertClose(
          debug.tensors.allocationWeights,
          firstRow(step.intermediates.allocation_weights, cells),
          `${file} step ${t} allocationWeights`,
        );
        assertClose(
          debug.tensors.writeContentWeights,
          firstRow(step.intermediates.write_content_weights, cells),
          `${file} step ${t} writeContentWeights`,
        );
        assertClose(
          debug.tensors.readContentWeights,
          firstRow(step.intermediates.read_content_weights, heads * cells),
          `${file} step ${t} readContentWeights`,
        );
        comparedStates++;
      });
    });
    assert.ok(comparedStates >= 4, `${file}: only ${comparedStates} tie-free steps compared`);
  });
}

test('gradients through the tape equal the kernel gradients for every input', () => {
  const fixture = loadFixture('memory_A_randinit.json');
  const { batch, nr_cells: cells, cell_size: width, read_heads: heads } = fixture.config;
  const step = fixture.steps[2];
  tf.tidy(() => {
    const parsed = fixtureInterface(step.parsed_interface, batch, cells, width, heads);
    const prev = fixtureState(fixture.steps[1].state_after, batch, cells, width, heads);
    const inputs: Record<DenseStepInputName, tf.Tensor> = {
      ...parsed,
      prevMemory: prev.memory,
      prevLinkMatrix: prev.linkMatrix,
      prevPrecedence: prev.precedence,
      prevReadWeights: prev.readWeights,
      prevWriteWeights: prev.writeWeights,
      prevUsage: prev.usage,
    };
    const layout = densePackedLayout({ batch, memorySize: cells, cellSize: width, readHeads: heads });
    const projection = Float64Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.37));
    const tensors = DENSE_STEP_INPUT_NAMES.map((name) => inputs[name]);
    const gradients = tf.grads((...xs: tf.Tensor[]) => {
      const input = (name: DenseStepInputName) => xs[DENSE_STEP_INPUT_NAMES.indexOf(name)];
      const result = fusedMemoryStep(
        {
          readKeys: input('readKeys') as tf.Tensor3D,
          readStrengths: input('readStrengths') as tf.Tensor2D,
          writeKey: input('writeKey') as tf.Tensor2D,
          writeStrength: input('writeStrength') as tf.Tensor1D,
          eraseVector: input('eraseVector') as tf.Tensor2D,
          writeVector: input('writeVector') as tf.Tensor2D,
          freeGates: input('freeGates') as tf.Tensor2D,
          allocationGate: input('allocationGate') as tf.Tensor2D,
          writeGate: input('writeGate') as tf.Tensor1D,
          readModes: input('readModes') as tf.Tensor3D,
        },
        {
          memory: input('prevMemory') as tf.Tensor3D,
          linkMatrix: input('prevLinkMatrix') as tf.Tensor3D,
          precedence: input('prevPrecedence') as tf.Tensor2D,
          readWeights: input('prevReadWeights') as tf.Tensor3D,
          writeWeights: input('prevWriteWeights') as tf.Tensor2D,
          usage: input('prevUsage') as tf.Tensor2D,
        },
      );
      const outputs = [
        result.readVectors,
        result.state.memory,
        result.state.precedence,
        result.state.readWeights,
        result.state.writeWeights,
        result.state.usage,
        result.state.linkMatrix,
      ];
      const flat = tf.concat(
        outputs.map((output) => tf.reshape(output, [-1])),
        0,
      );
      return tf.sum(tf.mul(flat, tf.tensor(Float32Array.from(projection), flat.shape)));
    })(tensors);

    const arrays = Object.fromEntries(
      DENSE_STEP_INPUT_NAMES.map((name) => [name, Float64Array.from(inputs[name].dataSync())]),
    ) as Record<DenseStepInputName, Float64Array>;
    const packed = new Float64Array(projection.length);
    const tape = denseStepForward({ batch, memorySize: cells, cellSize: width, readHeads: heads }, arrays, packed);
    const expected = Object.fromEntries(
      DENSE_STEP_INPUT_NAMES.map((name) => [name, new Float64Array(arrays[name].length)]),
    ) as Record<DenseStepInputName, Float64Array>;
    denseStepBackward(
      { batch, memorySize: cells, cellSize: width, readHeads: heads },
      arrays,
      packed,
      tape,
      projection,
      expected,
    );
    DENSE_STEP_INPUT_NAMES.forEach((name, i) => {
      assert.deepEqual(gradients[i].shape, tensors[i].shape, `${name} gradient shape`);
      const actual = gradients[i].dataSync();
      let scale = 1;
      for (const value of expected[name]) scale = Math.max(scale, Math.abs(value));
      expected[name].forEach((value, k) => {
        assert.ok(Math.abs(actual[k] - value) <= 1e-5 * scale, `${name}[${k}]: tape ${actual[k]}, kernel ${value}`);
      });
    });
  });
});

test('rejects a state or interface tensor of the wrong shape, naming it', () => {
  const fixture = loadFixture('memory_A.json');
  const { batch, nr_cells: cells, cell_size: width, read_heads: heads } = fixture.config;
  tf.tidy(() => {
    const parsed = fixtureInterface(fixture.steps[0].parsed_interface, batch, cells, width, heads);
    const prev = fixtureState(fixture.initial_state, batch, cells, width, heads);
    assert.throws(
      () => fusedMemoryStep(parsed, { ...prev, usage: tf.zeros([batch, cells + 1]) }),
      /fusedMemoryStep: prev\.usage has shape \[2,9\], expected \[2,8\]/,
    );
    assert.throws(
      () => fusedMemoryStep({ ...parsed, readModes: tf.zeros([batch, heads, 2]) }, prev),
      /fusedMemoryStep: parsed\.readModes has shape \[2,2,2\], expected \[2,2,3\]/,
    );
  });
});

test('a forward and backward step leaves no tensors behind but its outputs', () => {
  const fixture = loadFixture('memory_A_randinit.json');
  const { batch, nr_cells: cells, cell_size: width, read_heads: heads } = fixture.config;
  const parsed = fixtureInterface(fixture.steps[0].parsed_interface, batch, cells, width, heads);
  const prev = fixtureState(fixture.initial_state, batch, cells, width, heads);
  const run = () => {
    const { value, grads } = tf.valueAndGrads((memory: tf.Tensor, usage: tf.Tensor) => {
      const result = fusedMemoryStep(
        parsed,
        { ...prev, memory: memory as tf.Tensor3D, usage: usage as tf.Tensor2D },
        { debug: true },
      );
      for (const tensor of Object.values(result.debug?.tensors ?? {})) tensor.dispose();
      return tf.sum(result.readVectors);
    })([prev.memory, prev.usage]);
    tf.dispose([value, ...grads]);
  };
  run();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) run();
  assert.equal(tf.memory().numTensors, before);
  const plain = fusedMemoryStep(parsed, prev);
  assert.equal(tf.memory().numTensors, before + 7, 'exactly the read vectors and six state tensors are new');
  tf.dispose([plain.readVectors, ...Object.values(plain.state)]);
  tf.dispose([...Object.values(parsed), ...Object.values(prev)]);
});
