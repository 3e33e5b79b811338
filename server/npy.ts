// Reading .npy blobs that external clients send (the one .npy writer is `encodeNpy` in protocol.ts).

const PREAMBLE_BYTES = 10; // "\x93NUMPY", major, minor, and at least a u16 header length

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
