import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpointFile, saveCheckpointFile } from './checkpoint-file';
import { CHECKPOINT_MAGIC, type CheckpointContents, decodeCheckpoint, encodeCheckpoint } from './checkpoint-format';
import { resolveTrainConfig } from './config';

const contents: CheckpointContents = {
  config: resolveTrainConfig({ task: 'copy', batch_size: 4 }),
  iteration: 12,
  rng: [1, 2, 3, 0xffffffff],
  summarizeFreq: 5,
  weights: [
    {
      name: 'rnn_layer_0.weight_ih_l0',
      shape: [2, 3],
      values: new Float32Array([1, -2, 3.5, Number.MIN_VALUE, -0, 1e30]),
    },
    { name: 'output.bias', shape: [2], values: new Float32Array([0.25, -0.125]) },
  ],
  optimizer: {
    name: 'adam',
    learningRate: 0.003,
    step: 12,
    slots: [
      { parameter: 'output.bias', slot: 'exp_avg', shape: [2], values: new Float32Array([7, 8]) },
      { parameter: 'output.bias', slot: 'exp_avg_sq', shape: [2], values: new Float32Array([9, 10]) },
    ],
  },
};

test('encode → decode round-trips every field bit-exactly', () => {
  const bytes = encodeCheckpoint(contents);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), CHECKPOINT_MAGIC);
  const decoded = decodeCheckpoint(bytes);
  assert.deepEqual(decoded.config, contents.config);
  assert.equal(decoded.iteration, 12);
  assert.deepEqual(decoded.rng, [1, 2, 3, 0xffffffff]);
  assert.equal(decoded.summarizeFreq, 5);
  assert.deepEqual(decoded.weights, contents.weights);
  assert.deepEqual(decoded.optimizer, contents.optimizer);
  assert.ok(Object.is(decoded.weights[0].values[4], -0), 'negative zero survives');
});

test('decode reads a checkpoint at an unaligned offset inside a larger buffer', () => {
  const bytes = encodeCheckpoint(contents);
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  assert.deepEqual(decodeCheckpoint(padded.subarray(3)).weights, contents.weights);
});

test('corrupted, truncated and foreign files are refused with what is wrong', () => {
  const bytes = encodeCheckpoint(contents);
  const flip = (index: number) => {
    const copy = bytes.slice();
    copy[index] ^= 0x40;
    return copy;
  };
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 10)), /truncated: 10 bytes/);
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 40)), /truncated: header of \d+ bytes/);
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 5)),
    /truncated: tensor data needs \d+ bytes, file has \d+/,
  );
  assert.throws(() => decodeCheckpoint(new Uint8Array([...bytes, 0, 0])), /2 unexpected trailing bytes/);
  assert.throws(() => decodeCheckpoint(flip(0)), /not an Engram checkpoint/);
  assert.throws(() => decodeCheckpoint(flip(8)), /format version \d+ is not supported/);
  assert.throws(() => decodeCheckpoint(flip(30)), /header checksum mismatch/);
  assert.throws(() => decodeCheckpoint(flip(bytes.length - 10)), /tensor data checksum mismatch/);
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint at all"}')),
    /not an Engram checkpoint/,
  );
});

let directory = '';
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'engram-ckpt-'));
});
after(() => rm(directory, { recursive: true, force: true }));

test('file helpers: atomic save, load, and errors naming the path', async () => {
  const path = join(directory, 'run.ckpt');
  await saveCheckpointFile(path, encodeCheckpoint(contents));
  const second = { ...contents, iteration: 13 };
  await saveCheckpointFile(path, encodeCheckpoint(second));
  assert.equal(decodeCheckpoint(await loadCheckpointFile(path)).iteration, 13);
  assert.deepEqual(await readdir(directory), ['run.ckpt'], 'no temporary files left behind');
  // A crash mid-write leaves only a stray temp file; the checkpoint itself is untouched.
  await writeFile(join(directory, '.run.ckpt.999.1.tmp'), bytesPrefix(encodeCheckpoint(contents), 30));
  assert.equal(decodeCheckpoint(await loadCheckpointFile(path)).iteration, 13);
  await assert.rejects(loadCheckpointFile(join(directory, 'missing.ckpt')), /no checkpoint at .*missing\.ckpt/);
  await assert.rejects(loadCheckpointFile(directory), /is a directory/);
  await assert.rejects(
    saveCheckpointFile(join(directory, 'no-such-dir', 'x.ckpt'), new Uint8Array(4)),
    /saveCheckpointFile\(.*x\.ckpt\)/,
  );
});

function bytesPrefix(bytes: Uint8Array, length: number): Uint8Array {
  return bytes.subarray(0, length);
}
