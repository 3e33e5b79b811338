/**
 * A synthetic DNC-like frame source: plausible memory, link, weighting and sequence tensors with the axis labels the
 * engine uses, for the UI benchmark harness and for developing panels without a server. Deterministic per
 * (iteration, sizes), so tests and screenshots are repeatable.
 */
import type { DecodedFrame, DecodedTensor } from '../../server/protocol/frames';

export interface SyntheticSizes {
  /** N: memory cells. */
  cells: number;
  /** W: cell width. */
  width: number;
  /** R: read heads. */
  heads: number;
  timesteps: number;
  /** Bits per sequence item. */
  channels: number;
}

/** Small deterministic hash → [0, 1). */
function noise(a: number, b: number, c: number): number {
  let h = (a * 374761393 + b * 668265263 + c * 2147483647) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

function tensor(
  name: string,
  shape: number[],
  axes: string[],
  fill: (i: number) => number,
  range?: [number, number],
): DecodedTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = fill(i);
  return { name, layer: 0, shape, axes, data, range };
}

/** Sharp weighting over `cells` centred on `centre` (a softmax-like bump), so panels show a moving focus. */
function bump(cell: number, centre: number, cells: number): number {
  const d = Math.min(Math.abs(cell - centre), cells - Math.abs(cell - centre));
  return Math.exp(-d * d * 0.8);
}

export function syntheticFrame(runId: string, iteration: number, sizes: SyntheticSizes): DecodedFrame {
  const { cells: N, width: W, heads: R, timesteps: T, channels: C } = sizes;
  const half = Math.max(1, Math.floor(T / 2));
  const bits = (t: number, c: number) =>
    t < half - 1 && c < C - 1 ? (noise(iteration >> 3, t, c) > 0.5 ? 1 : 0) : t === half - 1 && c === C - 1 ? 1 : 0;
  const learn = 1 - Math.exp(-iteration / 300);
  const tensors: DecodedTensor[] = [
    tensor('input', [T, C], ['time', 'channel'], (i) => bits(Math.floor(i / C), i % C), [0, 1]),
    tensor(
      'target',
      [T, C],
      ['time', 'channel'],
      (i) => {
        const t = Math.floor(i / C);
        return t >= half && t - half < half - 1 ? bits(t - half, i % C) : 0;
      },
      [0, 1],
    ),
    tensor(
      'output',
      [T, C],
      ['time', 'channel'],
      (i) => {
        const t = Math.floor(i / C);
        const want = t >= half && t - half < half - 1 ? bits(t - half, i % C) : 0;
        return Math.min(1, Math.max(0, want * learn + (1 - learn) * noise(iteration, t, i)));
      },
      [0, 1],
    ),
    tensor('memory', [T, N, W], ['time', 'cell', 'word'], (i) => {
      const t = Math.floor(i / (N * W));
      const n = Math.floor(i / W) % N;
      const w = i % W;
      return n <= t * (N / T) ? Math.tanh(3 * (noise(n, w, iteration >> 2) - 0.5)) : 0;
    }),
    tensor(
      'linkMatrix',
      [T, N, N],
      ['time', 'cell', 'cell'],
      (i) => {
        const t = Math.floor(i / (N * N));
        const r = Math.floor(i / N) % N;
        const c = i % N;
        return r === c + 1 && c < t * (N / T) ? 0.9 : r === c ? 0 : 0.01 * noise(r, c, iteration);
      },
      [0, 1],
    ),
    tensor(
      'readWeights',
      [T, R, N],
      ['time', 'head', 'cell'],
      (i) => {
        const t = Math.floor(i / (R * N));
        const h = Math.floor(i / N) % R;
        return bump(i % N, ((t - half) * N) / T + h * 2 + (iteration % N), N);
      },
      [0, 1],
    ),
    tensor(
      'writeWeights',
      [T, 1, N],
      ['time', 'head', 'cell'],
      (i) => bump(i % N, (Math.floor(i / N) * N) / T + (iteration % N), N),
      [0, 1],
    ),
    tensor(
      'usage',
      [T, N],
      ['time', 'cell'],
      (i) => Math.min(1, (Math.floor(i / N) + 1) / T + 0.3 * noise(i % N, 0, iteration >> 4)),
      [0, 1],
    ),
    tensor('precedenceWeights', [T, N], ['time', 'cell'], (i) => bump(i % N, (Math.floor(i / N) * N) / T, N), [0, 1]),
    tensor(
      'allocationWeights',
      [T, N],
      ['time', 'cell'],
      (i) => bump(i % N, (Math.floor(i / N) * N) / T + 1, N),
      [0, 1],
    ),
    tensor(
      'readModes',
      [T, R, 3],
      ['time', 'head', 'mode'],
      (i) => {
        const m = i % 3;
        return m === 1 ? 0.2 + 0.6 * learn : (0.8 - 0.6 * learn) / 2;
      },
      [0, 1],
    ),
    tensor('writeGate', [T], ['time'], (i) => (i < half ? 0.9 : 0.1), [0, 1]),
    tensor('allocationGate', [T], ['time'], (i) => noise(i, 7, iteration >> 3), [0, 1]),
  ];
  return { runId, iteration, timesteps: T, capturedAt: Date.now(), tensors };
}
