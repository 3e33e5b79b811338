/**
 * Debug frames inside the server: packed into one transferable buffer by the worker (one copy out of the engine),
 * stored as one blob, and handed to socket.io as byte views on that buffer (no further copy).
 *
 * Blob layout (little-endian): magic "ENGF", u32 version, u32 header length H, H bytes of UTF-8 JSON
 * (`FrameHeader`), zero padding to a multiple of 4, then the tensor bytes at the offsets the header gives.
 */
import type { DebugFrame } from '../engine';
import { tensorSize, type WireFrame, type WireTensor } from './protocol/frames';
import type { PackedFrame, PackedTensorInfo } from './worker/messages';

const MAGIC = 0x46474e45; // "ENGF" read as little-endian u32
const BLOB_VERSION = 1;

type FrameHeader = Omit<PackedFrame, 'buffer'>;

/** Copy a debug frame's tensors into one ArrayBuffer (the only copy between engine and socket). */
export function packFrame(frame: DebugFrame, iteration: number, capturedAt: number): PackedFrame {
  let total = 0;
  const infos: PackedTensorInfo[] = frame.tensors.map((t) => {
    const expected = tensorSize(t.shape);
    if (t.data.length !== expected) {
      throw new Error(`packFrame: tensor ${t.name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    const info: PackedTensorInfo = {
      name: t.name,
      layer: t.layer,
      shape: [...t.shape],
      axes: [...t.axes],
      byteOffset: total,
      byteLength: t.data.byteLength,
    };
    if (t.range !== undefined) info.range = [t.range[0], t.range[1]];
    if (t.description !== undefined) info.description = t.description;
    total += t.data.byteLength; // float32: always a multiple of 4, so every offset stays aligned
    return info;
  });
  const buffer = new ArrayBuffer(total);
  frame.tensors.forEach((t, i) => new Float32Array(buffer, infos[i].byteOffset, t.data.length).set(t.data));
  return { iteration, timesteps: frame.timesteps, capturedAt, tensors: infos, buffer };
}

/** Total tensor bytes of a packed frame. */
export function frameBytes(frame: PackedFrame): number {
  return frame.buffer.byteLength;
}

/** Serialize a packed frame for storage, into a new buffer. */
export function encodeFrameBlob(frame: PackedFrame): Buffer {
  return writeFrameBlob(frame, null);
}

/** Scratch buffers up to this size are kept for the next frame; a bigger frame gets a buffer of its own. */
const SCRATCH_KEPT_BYTES = 8 * 1024 * 1024;

/**
 * Serializes frames for storage into one reused buffer: each blob is valid until the next `encode`. For a writer
 * that copies what it is given at once (better-sqlite3 binds blobs with SQLITE_TRANSIENT): a frame streamed at
 * hundreds a second then leaves no blob-sized garbage behind.
 */
export class FrameBlobWriter {
  private scratch: Buffer | null = null;

  encode(frame: PackedFrame): Buffer {
    return writeFrameBlob(frame, this);
  }

  /** A buffer of at least `bytes` (this writer's scratch when it may keep one that large). */
  take(bytes: number): Buffer {
    if (bytes > SCRATCH_KEPT_BYTES) return Buffer.allocUnsafe(bytes);
    if (this.scratch === null || this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(bytes);
    return this.scratch;
  }
}

function writeFrameBlob(frame: PackedFrame, writer: FrameBlobWriter | null): Buffer {
  const header: FrameHeader = {
    iteration: frame.iteration,
    timesteps: frame.timesteps,
    capturedAt: frame.capturedAt,
    tensors: frame.tensors,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align4(12 + json.length);
  const length = dataStart + frame.buffer.byteLength;
  // Every byte is written below (the padding too), so the blob needs no zero fill first.
  const out = (writer === null ? Buffer.allocUnsafe(length) : writer.take(length)).subarray(0, length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(BLOB_VERSION, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  out.fill(0, 12 + json.length, dataStart);
  Buffer.from(frame.buffer).copy(out, dataStart);
  return out;
}

/** Parse a stored frame blob. The returned buffer is a fresh, aligned copy of the tensor bytes. */
export function decodeFrameBlob(blob: Uint8Array): PackedFrame {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < 12 || bytes.readUInt32LE(0) !== MAGIC) throw new Error('frame blob: bad magic');
  const version = bytes.readUInt32LE(4);
  if (version !== BLOB_VERSION) throw new Error(`frame blob: unsupported version ${version}`);
  const headerLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as FrameHeader;
  const dataStart = align4(12 + headerLength);
  const data = bytes.subarray(dataStart);
  const buffer = new ArrayBuffer(data.length);
  new Uint8Array(buffer).set(data);
  for (const t of header.tensors) {
    if (t.byteOffset + t.byteLength > buffer.byteLength || t.byteLength !== tensorSize(t.shape) * 4) {
      throw new Error(`frame blob: tensor ${t.name} does not fit its shape or the blob`);
    }
  }
  return { ...header, buffer };
}

/** The wire form of a packed frame: tensor bytes are views on the packed buffer, not copies. */
export function toWireFrame(runId: string, frame: PackedFrame): WireFrame {
  const tensors: WireTensor[] = frame.tensors.map((t) => {
    const wire: WireTensor = {
      name: t.name,
      layer: t.layer,
      shape: t.shape,
      axes: t.axes,
      data: new Uint8Array(frame.buffer, t.byteOffset, t.byteLength),
    };
    if (t.range !== undefined) wire.range = t.range;
    if (t.description !== undefined) wire.description = t.description;
    if (t.nonFinite !== undefined) wire.nonFinite = t.nonFinite;
    return wire;
  });
  return { runId, iteration: frame.iteration, timesteps: frame.timesteps, capturedAt: frame.capturedAt, tensors };
}

/** One tensor's values as a Float32Array view (the packed buffer is aligned, so no copy is needed). */
export function tensorValues(frame: PackedFrame, info: PackedTensorInfo): Float32Array {
  return new Float32Array(frame.buffer, info.byteOffset, info.byteLength / 4);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
