/**
 * The checkpoint file format: everything a training run needs to continue bit-exactly — weights, optimizer
 * slots and step, iteration, the data RNG's state and the run config — in one self-checking binary blob.
 * Pure bytes in, bytes out; file IO lives in `checkpoint-file.ts`. The checksum is zlib's CRC-32 (IEEE 802.3), the
 * same one the dashboard's ZIP writer computes (its test checks the two agree). Layout (documented in README.md):
 *
 *   magic "ENGRAMCK" | u32 version | u32 headerBytes | header JSON | u32 crc32(header)
 *   | u32 blobBytes | float32 blobs | u32 crc32(blobs)
 *
 * Integers and floats are little-endian. Every tensor in the header names its byte offset into the blob section
 * and its element count, so a reader needs nothing but the header to find it.
 */
import { crc32 } from 'node:zlib';
import type { OptimizerSnapshot, SlotValues } from './optimizers';
import type { RngState } from './rng';
import type { OptimizerName, TrainConfig } from './types';

export const CHECKPOINT_MAGIC = 'ENGRAMCK';
export const CHECKPOINT_VERSION = 1;
const MAGIC_BYTES = 8;
/** Bytes before the header JSON: magic, version, header length. */
const PREAMBLE_BYTES = MAGIC_BYTES + 4 + 4;

/** One named float32 tensor. */
export interface NamedValues {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** What a checkpoint holds. */
export interface CheckpointContents {
  readonly config: TrainConfig;
  /** Iterations completed. */
  readonly iteration: number;
  readonly rng: RngState;
  readonly summarizeFreq: number;
  /** Model parameters by pytorch-dnc state_dict name. */
  readonly weights: readonly NamedValues[];
  readonly optimizer: OptimizerSnapshot;
}

interface TensorEntry {
  group: 'weight' | 'optimizer';
  name: string;
  slot?: string;
  shape: number[];
  /** Byte offset into the blob section. */
  offset: number;
  /** Element count. */
  length: number;
}

interface Header {
  kind: 'engram-checkpoint';
  config: TrainConfig;
  iteration: number;
  rng: number[];
  summarizeFreq: number;
  optimizer: { name: OptimizerName; learningRate: number; step: number };
  tensors: TensorEntry[];
}

/** Thrown for unreadable checkpoints; the message says what is wrong and where. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** Serialise a checkpoint. */
export function encodeCheckpoint(contents: CheckpointContents): Uint8Array {
  const tensors: TensorEntry[] = [];
  const blobs: Float32Array[] = [];
  let offset = 0;
  const add = (
    group: TensorEntry['group'],
    name: string,
    shape: readonly number[],
    values: Float32Array,
    slot?: string,
  ) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== values.length) {
      throw new CheckpointError(
        `encode: ${group} ${name}${slot ? `/${slot}` : ''} has ${values.length} values for shape [${shape.join(', ')}]`,
      );
    }
    tensors.push({
      group,
      name,
      ...(slot === undefined ? {} : { slot }),
      shape: [...shape],
      offset,
      length: values.length,
    });
    blobs.push(values);
    offset += values.length * 4;
  };
  for (const weight of contents.weights) add('weight', weight.name, weight.shape, weight.values);
  for (const slot of contents.optimizer.slots) add('optimizer', slot.parameter, slot.shape, slot.values, slot.slot);
  const header: Header = {
    kind: 'engram-checkpoint',
    config: contents.config,
    iteration: contents.iteration,
    rng: [...contents.rng],
    summarizeFreq: contents.summarizeFreq,
    optimizer: {
      name: contents.optimizer.name,
      learningRate: contents.optimizer.learningRate,
      step: contents.optimizer.step,
    },
    tensors,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const blobBytes = offset;
  const total = PREAMBLE_BYTES + headerBytes.length + 4 + 4 + blobBytes + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  view.setUint32(MAGIC_BYTES, CHECKPOINT_VERSION, true);
  view.setUint32(MAGIC_BYTES + 4, headerBytes.length, true);
  bytes.set(headerBytes, PREAMBLE_BYTES);
  let cursor = PREAMBLE_BYTES + headerBytes.length;
  view.setUint32(cursor, crc32(headerBytes), true);
  view.setUint32(cursor + 4, blobBytes, true);
  cursor += 8;
  const blobStart = cursor;
  for (const values of blobs) {
    for (let i = 0; i < values.length; i++) view.setFloat32(cursor + i * 4, values[i], true);
    cursor += values.length * 4;
  }
  view.setUint32(cursor, crc32(bytes.subarray(blobStart, cursor)), true);
  return bytes;
}

/** Parse and verify a checkpoint; throws CheckpointError naming the first problem found. */
export function decodeCheckpoint(bytes: Uint8Array): CheckpointContents {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < PREAMBLE_BYTES) {
    throw new CheckpointError(`truncated: ${bytes.length} bytes, the preamble alone needs ${PREAMBLE_BYTES}`);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC_BYTES));
  if (magic !== CHECKPOINT_MAGIC) {
    throw new CheckpointError(
      `not an Engram checkpoint (magic '${magic.replace(/[^\x20-\x7e]/g, '?')}', expected '${CHECKPOINT_MAGIC}')`,
    );
  }
  const version = view.getUint32(MAGIC_BYTES, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `format version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const headerLength = view.getUint32(MAGIC_BYTES + 4, true);
  const headerEnd = PREAMBLE_BYTES + headerLength;
  if (headerEnd + 8 > bytes.length) {
    throw new CheckpointError(
      `truncated: header of ${headerLength} bytes plus checks needs ${headerEnd + 8} bytes, file has ${bytes.length}`,
    );
  }
  const headerBytes = bytes.subarray(PREAMBLE_BYTES, headerEnd);
  const headerCrc = view.getUint32(headerEnd, true);
  if (crc32(headerBytes) !== headerCrc) throw new CheckpointError('header checksum mismatch (file corrupted)');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes)) as Header;
  } catch (error) {
    throw new CheckpointError(`header is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  checkHeader(header);
  const blobLength = view.getUint32(headerEnd + 4, true);
  const blobStart = headerEnd + 8;
  const expectedTotal = blobStart + blobLength + 4;
  if (bytes.length < expectedTotal) {
    throw new CheckpointError(`truncated: tensor data needs ${expectedTotal} bytes, file has ${bytes.length}`);
  }
  if (bytes.length > expectedTotal) {
    throw new CheckpointError(`${bytes.length - expectedTotal} unexpected trailing bytes after the tensor data`);
  }
  if (crc32(bytes.subarray(blobStart, blobStart + blobLength)) !== view.getUint32(blobStart + blobLength, true)) {
    throw new CheckpointError('tensor data checksum mismatch (file corrupted)');
  }
  const read = (entry: TensorEntry): Float32Array => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (size !== entry.length || entry.offset % 4 !== 0 || entry.offset + entry.length * 4 > blobLength) {
      throw new CheckpointError(
        `tensor ${entry.name}${entry.slot ? `/${entry.slot}` : ''} lies outside the tensor data or disagrees with ` +
          `its shape`,
      );
    }
    const values = new Float32Array(entry.length);
    for (let i = 0; i < entry.length; i++) values[i] = view.getFloat32(blobStart + entry.offset + i * 4, true);
    return values;
  };
  const weights: NamedValues[] = [];
  const slots: SlotValues[] = [];
  for (const entry of header.tensors) {
    if (entry.group === 'weight') weights.push({ name: entry.name, shape: entry.shape, values: read(entry) });
    else slots.push({ parameter: entry.name, slot: entry.slot ?? '', shape: entry.shape, values: read(entry) });
  }
  return {
    config: header.config,
    iteration: header.iteration,
    rng: [header.rng[0], header.rng[1], header.rng[2], header.rng[3]],
    summarizeFreq: header.summarizeFreq,
    weights,
    optimizer: { ...header.optimizer, slots },
  };
}

function checkHeader(header: Header): void {
  const fail = (what: string) => {
    throw new CheckpointError(`header field ${what}`);
  };
  if (typeof header !== 'object' || header === null || header.kind !== 'engram-checkpoint')
    fail("'kind' is not 'engram-checkpoint'");
  if (typeof header.config !== 'object' || header.config === null) fail("'config' is missing");
  if (!Number.isInteger(header.iteration) || header.iteration < 0)
    fail(`'iteration' is invalid (${String(header.iteration)})`);
  if (!Array.isArray(header.rng) || header.rng.length !== 4) fail("'rng' is not four words");
  if (!Number.isInteger(header.summarizeFreq) || header.summarizeFreq < 1)
    fail(`'summarizeFreq' is invalid (${String(header.summarizeFreq)})`);
  if (typeof header.optimizer !== 'object' || header.optimizer === null) fail("'optimizer' is missing");
  if (!Array.isArray(header.tensors)) fail("'tensors' is missing");
  for (const entry of header.tensors) {
    if (
      typeof entry.name !== 'string' ||
      (entry.group !== 'weight' && entry.group !== 'optimizer') ||
      !Array.isArray(entry.shape) ||
      !Number.isInteger(entry.offset) ||
      !Number.isInteger(entry.length)
    ) {
      fail(`'tensors' has a malformed entry (${JSON.stringify(entry).slice(0, 120)})`);
    }
  }
}
