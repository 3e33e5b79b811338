/**
 * Validation and decoding of the binary frames external clients send. A frame is a JSON header plus the tensors' bytes
 * back to back (raw little-endian buffers or .npy blobs); every dtype is stored as float32, NaN and ±Inf kept and
 * counted. Each refusal is an ApiError naming the tensor and the field, and nothing here throws anything else.
 */
import { ApiError } from './errors';
import { MAX_NAME_LENGTH } from './ingest-decode';
import { parseNpyHeader } from './npy';
import { INGEST_DTYPES, MAX_INGEST_FRAME_BYTES, type IngestDtype } from './protocol/ingest';
import type { NonFiniteCounts } from './protocol/frames';
import { asObject, describe } from './validate';
import type { PackedFrame, PackedTensorInfo } from './worker/messages';

const MAX_TENSORS = 256;
const MAX_RANK = 6;
const ITEM_BYTES: Record<IngestDtype, number> = { float32: 4, float64: 8, float16: 2, uint8: 1, int32: 4 };
const NPY_DTYPES: Record<string, IngestDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '<i4': 'int32',
};

/**
 * Split an HTTP frame body `[u32 LE header length H][H bytes of UTF-8 JSON header][tensor bytes]` into its header
 * and tensor bytes.
 */
export function splitFrameBody(body: Uint8Array): { header: unknown; data: Uint8Array } {
  if (body.byteLength < 4)
    throw new ApiError('bad_request', 'frame body is shorter than its 4-byte header length', { field: 'header' });
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const length = view.getUint32(0, true);
  if (length > body.byteLength - 4)
    throw new ApiError('bad_request', `frame header length ${length} exceeds the body (${body.byteLength} bytes)`, {
      field: 'header',
    });
  return {
    header: parseHeaderJson(Buffer.from(body.buffer, body.byteOffset + 4, length).toString('utf8')),
    data: body.subarray(4 + length),
  };
}

export function parseHeaderJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'frame header is not valid JSON', { field: 'header' });
  }
}

/** One validated tensor of a frame: where its bytes lie in the body, and how many float32 values it stores. */
interface TensorSlice {
  info: Omit<PackedTensorInfo, 'byteOffset' | 'byteLength'>;
  dtype: IngestDtype;
  bytes: Uint8Array;
  size: number;
}

/**
 * Decode one ingested frame into the server's packed form (float32, one buffer). `maxBytes` bounds the frame's
 * stored size; `capturedAt` is when the server received it. Every tensor is validated before any is converted, and
 * each is then written straight into the packed buffer: one copy of the body's bytes, not one per tensor plus one
 * to pack (at hundreds of frames a second each needless 256 KB buffer is garbage the collector must chase).
 */
export function decodeIngestFrame(
  headerValue: unknown,
  data: Uint8Array,
  capturedAt: number,
  maxBytes = MAX_INGEST_FRAME_BYTES,
): PackedFrame {
  const header = asObject(headerValue, 'frame header');
  const iteration = header.iteration;
  if (typeof iteration !== 'number' || !Number.isInteger(iteration) || iteration < 0)
    throw new ApiError('bad_request', `frame iteration must be a non-negative integer, got ${describe(iteration)}`, {
      field: 'iteration',
    });
  const list = header.tensors;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_TENSORS)
    throw new ApiError('bad_request', `frame tensors must be a list of 1 to ${MAX_TENSORS} tensors`, {
      field: 'tensors',
    });
  let offset = 0;
  let storedBytes = 0;
  const seen = new Set<string>();
  const slices: TensorSlice[] = [];
  list.forEach((raw, index) => {
    const t = asObject(raw, `tensors[${index}]`);
    const name = t.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH)
      throw new ApiError(
        'bad_request',
        `tensors[${index}].name must be a string of 1 to ${MAX_NAME_LENGTH} characters`,
        {
          field: 'name',
        },
      );
    const fail = (field: string, message: string, code: 'bad_request' | 'payload_too_large' = 'bad_request') =>
      new ApiError(code, `tensor ${describe(name)}: ${field} ${message}`, { tensor: name, field });
    const layer = t.layer ?? 0;
    if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 0 || layer > 1000)
      throw fail('layer', `must be an integer in [0, 1000], got ${describe(layer)}`);
    const key = `${name}@${layer}`;
    if (seen.has(key)) throw fail('name', `appears twice in layer ${layer}`);
    seen.add(key);
    const format = t.format ?? 'raw';
    if (format !== 'raw' && format !== 'npy') throw fail('format', `must be "raw" or "npy", got ${describe(format)}`);

    let dtype: IngestDtype;
    let shape: number[];
    let start = offset;
    if (format === 'npy') {
      if (t.dtype !== undefined) throw fail('dtype', 'is read from the .npy blob; leave it out');
      let npy: ReturnType<typeof parseNpyHeader>;
      try {
        npy = parseNpyHeader(data.subarray(offset));
      } catch (error) {
        throw fail('data', `is not a valid .npy blob at byte ${offset}: ${(error as Error).message}`);
      }
      const fromNpy = NPY_DTYPES[npy.descr];
      if (fromNpy === undefined)
        throw fail('dtype', `.npy dtype ${describe(npy.descr)} is not one of ${Object.keys(NPY_DTYPES).join(' ')}`);
      if (npy.fortranOrder) throw fail('fortran_order', 'must be False (send a C-contiguous array)');
      dtype = fromNpy;
      shape = npy.shape;
      if (t.shape !== undefined) {
        const given = parseShape(t.shape, fail);
        if (given.join(',') !== shape.join(','))
          throw fail('shape', `[${given.join(', ')}] does not match the .npy shape [${shape.join(', ')}]`);
      }
      start = offset + npy.dataOffset;
    } else {
      const given = t.dtype ?? 'float32';
      if (!(INGEST_DTYPES as readonly unknown[]).includes(given))
        throw fail('dtype', `must be one of ${INGEST_DTYPES.join(', ')}, got ${describe(given)}`);
      dtype = given as IngestDtype;
      if (t.shape === undefined) throw fail('shape', 'is required for a raw buffer');
      shape = parseShape(t.shape, fail);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    storedBytes += size * 4;
    if (storedBytes > maxBytes)
      throw fail(
        'shape',
        `[${shape.join(', ')}] takes the frame past its limit of ${maxBytes} bytes`,
        'payload_too_large',
      );
    const byteLength = size * ITEM_BYTES[dtype];
    if (start + byteLength > data.byteLength)
      throw fail(
        'data',
        `needs ${byteLength} bytes of ${dtype} for shape [${shape.join(', ')}], ` +
          `but only ${Math.max(0, data.byteLength - start)} remain`,
      );
    const axes = parseAxes(t.axes, shape.length, fail);
    const info: TensorSlice['info'] = { name, layer, shape, axes };
    if (t.range !== undefined) info.range = parseRange(t.range, fail);
    if (t.description !== undefined) {
      if (typeof t.description !== 'string' || t.description.length > 500)
        throw fail('description', 'must be a string of at most 500 characters');
      info.description = t.description;
    }
    slices.push({ info, dtype, bytes: data.subarray(start, start + byteLength), size });
    offset = start + byteLength;
  });
  if (offset !== data.byteLength)
    throw new ApiError('bad_request', `frame data has ${data.byteLength - offset} bytes left after the last tensor`, {
      field: 'data',
    });
  return pack(iteration, timestepsOf(header.timesteps, slices), capturedAt, slices);
}

type Fail = (field: string, message: string) => ApiError;

function parseShape(value: unknown, fail: Fail): number[] {
  if (
    !Array.isArray(value) ||
    value.length > MAX_RANK ||
    value.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 1 << 24)
  )
    throw fail('shape', `must be a list of at most ${MAX_RANK} non-negative integers, got ${describe(value)}`);
  return [...(value as number[])];
}

function parseAxes(value: unknown, rank: number, fail: Fail): string[] {
  if (value === undefined) return Array.from({ length: rank }, (_, i) => `dim${i}`);
  if (
    !Array.isArray(value) ||
    value.length !== rank ||
    value.some((a) => typeof a !== 'string' || a.length === 0 || a.length > 50)
  )
    throw fail('axes', `must be ${rank} non-empty labels (one per dimension), got ${describe(value)}`);
  return [...(value as string[])];
}

function parseRange(value: unknown, fail: Fail): [number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    value.some((v) => typeof v !== 'number' || !Number.isFinite(v)) ||
    (value[0] as number) > (value[1] as number)
  )
    throw fail('range', `must be [low, high] with finite low <= high, got ${describe(value)}`);
  return [value[0] as number, value[1] as number];
}

function timestepsOf(value: unknown, tensors: readonly TensorSlice[]): number {
  if (value !== undefined) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1 << 20)
      throw new ApiError('bad_request', `frame timesteps must be a positive integer, got ${describe(value)}`, {
        field: 'timesteps',
      });
    return value;
  }
  const timed = tensors.find((t) => t.info.axes[0] === 'time');
  return timed === undefined ? 1 : Math.max(1, timed.info.shape[0]);
}

/** Little-endian bytes of `dtype` → float32 into `out` (float64 rounds; NaN and ±Inf stay what they are). */
function toFloat32(bytes: Uint8Array, dtype: IngestDtype, out: Float32Array): void {
  if (dtype === 'float32') {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return;
  }
  if (dtype === 'uint8') {
    out.set(bytes);
    return;
  }
  const size = out.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float64') for (let i = 0; i < size; i++) out[i] = view.getFloat64(i * 8, true);
  else if (dtype === 'int32') for (let i = 0; i < size; i++) out[i] = view.getInt32(i * 4, true);
  else for (let i = 0; i < size; i++) out[i] = float16ToNumber(view.getUint16(i * 2, true));
}

/** IEEE 754 half precision: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function countNonFinite(values: Float32Array): NonFiniteCounts | null {
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      // Only NaN and ±Inf fail v - v === 0.
      if (Number.isNaN(v)) nan++;
      else if (v > 0) posInf++;
      else negInf++;
    }
  }
  return nan + posInf + negInf === 0 ? null : { nan, posInf, negInf };
}

/** Convert every tensor into one buffer, at the offsets the infos give, counting NaN and ±Inf as it goes. */
function pack(iteration: number, timesteps: number, capturedAt: number, slices: readonly TensorSlice[]): PackedFrame {
  let total = 0;
  const tensors: PackedTensorInfo[] = slices.map(({ info, size }) => {
    const packed: PackedTensorInfo = { ...info, byteOffset: total, byteLength: size * 4 };
    total += size * 4;
    return packed;
  });
  const buffer = new ArrayBuffer(total);
  slices.forEach(({ dtype, bytes, size }, i) => {
    const values = new Float32Array(buffer, tensors[i].byteOffset, size);
    toFloat32(bytes, dtype, values);
    const nonFinite = countNonFinite(values);
    if (nonFinite !== null) tensors[i].nonFinite = nonFinite;
  });
  return { iteration, timesteps, capturedAt, tensors, buffer };
}
