import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DNC } from './dnc';
import { parityFixturePath } from './parity/fixtures';
import { inferDNCOptions, loadPytorchWeights, parseStateDict, readStateDictFile } from './weights';

const FIXTURE = parityFixturePath('dnc_A.json');

before(async () => {
  await tf.setBackend('cpu');
});

describe('pytorch weights', () => {
  it('reads a fixture file as a state dict and infers the DNC options it implies', () => {
    const dict = readStateDictFile(FIXTURE);
    assert.deepEqual(dict['output.weight'].shape, [4, 16]);
    assert.deepEqual(inferDNCOptions(dict), {
      inputSize: 4,
      hiddenSize: 8,
      rnnType: 'lstm',
      numLayers: 1,
      numHiddenLayers: 1,
      bias: true,
      shareMemory: true,
      independentLinears: false,
      readHeads: 2,
      cellSize: 4,
      outputSize: 4,
    });
  });

  it('round-trips every option through a model exported like a pytorch state_dict', () => {
    const source = new DNC({
      inputSize: 5,
      hiddenSize: 7,
      rnnType: 'gru',
      numLayers: 2,
      numHiddenLayers: 3,
      bias: false,
      shareMemory: false,
      independentLinears: true,
      readHeads: 3,
      cellSize: 2,
      nrCells: 4,
      outputSize: 6,
      seed: 1,
    });
    const exported = Object.fromEntries(
      [...source.variables].map(([name, v]) => [name, { shape: v.shape, data: Array.from(v.dataSync()) }]),
    );
    const inferred = inferDNCOptions(parseStateDict(exported));
    assert.deepEqual(inferred, {
      inputSize: 5,
      hiddenSize: 7,
      rnnType: 'gru',
      numLayers: 2,
      numHiddenLayers: 3,
      bias: false,
      shareMemory: false,
      independentLinears: true,
      readHeads: 3,
      cellSize: 2,
      outputSize: 6,
    });
    const target = new DNC({ ...inferred, nrCells: 4, seed: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'engram-weights-'));
    const file = join(dir, 'weights.json');
    writeFileSync(file, JSON.stringify(exported));
    loadPytorchWeights(target, file);
    for (const [name, v] of target.variables)
      assert.deepEqual(v.dataSync(), source.variables.get(name)!.dataSync(), name);
    source.dispose();
    target.dispose();
  });

  it('accepts {state_dict: …} and tensor.tolist() nested arrays', () => {
    const dict = parseStateDict({
      state_dict: {
        'output.weight': [
          [1, 2, 3],
          [4, 5, 6],
        ],
        'output.bias': { shape: [2], data: [7, 8] },
      },
    });
    assert.deepEqual(dict['output.weight'], { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(dict['output.bias'].data, [7, 8]);
  });

  it('names the file and entry of malformed input', () => {
    assert.throws(
      () => parseStateDict({ 'output.bias': { shape: [3], data: [1, 2] } }, 'w.json'),
      /w\.json: 'output\.bias'\.data: 2 values for shape \[3\] \(3 needed\)/,
    );
    assert.throws(
      () => parseStateDict({ 'output.weight': [[1, 2], [3]] }),
      /'output\.weight'\[1\]: ragged nested array/,
    );
    assert.throws(() => parseStateDict([1, 2]), /expected a JSON object of name → \{shape, data\}, got an array/);
    const dir = mkdtempSync(join(tmpdir(), 'engram-weights-'));
    writeFileSync(join(dir, 'bad.json'), '{');
    assert.throws(() => readStateDictFile(join(dir, 'bad.json')), /bad\.json is not valid JSON/);
    assert.throws(() => inferDNCOptions({ 'output.weight': { shape: [1, 1], data: [0] } }), /no controller weights/);
  });

  it('loading the fixture weights into a mismatched model fails loudly', () => {
    const model = new DNC({
      inputSize: 4,
      hiddenSize: 8,
      numHiddenLayers: 1,
      nrCells: 6,
      cellSize: 5,
      readHeads: 2,
      seed: 1,
    });
    assert.throws(
      () => loadPytorchWeights(model, JSON.parse(readFileSync(FIXTURE, 'utf8'))),
      /'lstm_layer_0.weight_ih_l0' has shape \[32, 12\], the model expects \[32, 14\]/,
    );
    model.dispose();
  });
});
