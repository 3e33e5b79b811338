/**
 * NPY v1.0 encoding of one float32 tensor, so `numpy.load` reads what the debugger shows.
 * Layout: magic "\x93NUMPY", version 1.0, u16 little-endian header length, an ASCII Python dict literal padded
 * with spaces and ended by "\n" so that magic + version + length + header is a multiple of 64 bytes, then the
 * row-major little-endian float32 data.
 */
import { tensorSize } from './protocol';

const NPY_ALIGN = 64;
const PREAMBLE_BYTES = 10; // 6 magic + 2 version + 2 header length

/** The Python literal numpy writes for a shape: `()`, `(5,)`, `(2, 3)`. */
function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encode `data` (row-major, `product(shape)` values) as an .npy file. */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Buffer {
  const expected = tensorSize(shape);
  if (data.length !== expected) {
    throw new Error(`encodeNpy: ${data.length} values for shape [${shape.join(', ')}], expected ${expected}`);
  }
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = PREAMBLE_BYTES + dict.length + 1;
  dict += `${' '.repeat((NPY_ALIGN - (unpadded % NPY_ALIGN)) % NPY_ALIGN)}\n`;
  const out = Buffer.alloc(PREAMBLE_BYTES + dict.length + data.byteLength);
  out.writeUInt8(0x93, 0);
  out.write('NUMPY', 1, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt8(0, 7);
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, PREAMBLE_BYTES, 'latin1');
  // Float32Array is host-endian; every platform Node runs on here is little-endian, and '<f4' says so.
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, PREAMBLE_BYTES + dict.length);
  return out;
}

/** What an .npy header says about its array. `dtype` is numpy's descr (`<f4`, `<f8`, `|u1`, …). */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Bytes from the start of the blob to the first data byte. */
  dataOffset: number;
}

/**
 * Parse an .npy header (versions 1.0, 2.0 and 3.0). Throws an Error saying what is wrong; the data that follows is
 * not read.
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < PREAMBLE_BYTES || view[0] !== 0x93 || view.toString('latin1', 1, 6) !== 'NUMPY')
    throw new Error('not an .npy blob (no \\x93NUMPY magic)');
  const major = view[6];
  if (major < 1 || major > 3) throw new Error(`unsupported .npy version ${major}.${view[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const start = 8 + lengthBytes;
  if (view.length < start) throw new Error('.npy blob ends inside its preamble');
  const headerLength = major === 1 ? view.readUInt16LE(8) : view.readUInt32LE(8);
  if (view.length < start + headerLength) throw new Error('.npy blob ends inside its header');
  const text = view.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new Error(`.npy header is not a numpy dict literal: ${text.slice(0, 80).trim()}`);
  const shape = shapeText
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`.npy shape (${shapeText}) is not valid`);
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset: start + headerLength };
}
