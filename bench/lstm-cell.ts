/**
 * One LSTM cell step, forward and backward, at controller sizes: the plain tfjs ops (`lstmFromGates`), the fused
 * op on its JavaScript loops (`ENGRAM_LSTM_SIMD=off`'s path) and the fused op on its WebAssembly SIMD kernel, timed
 * in alternating rounds in one process so that the machine's load falls on all three alike; and the same loss and
 * `tf.grads` around one slice instead of a cell, about the harness's own share of each number.
 *
 *   npm run bench:lstm-cell [-- --backend wasm --shapes 100x64,8x64 --rounds 5 --steps 200]
 *
 * Prints, per shape and path, the median over rounds of µs per step (each round's mean over `--steps` steps) and the
 * best round, then a JSON summary with the load average.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fusedLstmCell } from '../engine/controller/fused-lstm-cell';
import { setLstmCellSimd } from '../engine/controller/lstm-cell-simd';
import { lstmFromGates } from '../engine/controller/lstm';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : process.argv[index + 1];
}

function count(name: string, fallback: number): number {
  const value = Number(option(name, String(fallback)));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`bench:lstm-cell: --${name} needs a positive integer`);
  return value;
}

/** The loss and tf.grads around a cell, with one slice for a cell: about the harness's share of every path's time. */
const noCell = (gates: tf.Tensor2D, prevCell: tf.Tensor2D) => ({
  hidden: prevCell,
  cell: tf.slice(gates, [0, 0], prevCell.shape) as tf.Tensor2D,
});

const PATHS = {
  'no cell': () => noCell,
  plain: () => lstmFromGates,
  'fused JS': () => {
    setLstmCellSimd('off');
    return fusedLstmCell;
  },
  'fused SIMD': () => {
    setLstmCellSimd('auto');
    return fusedLstmCell;
  },
} as const;

type PathName = keyof typeof PATHS;

/** Mean µs of one forward+backward step over `steps` steps. */
function timeSteps(path: PathName, gates: tf.Tensor2D, prevCell: tf.Tensor2D, weights: tf.Tensor, steps: number) {
  const cell = PATHS[path]();
  const loss = (g: tf.Tensor, c: tf.Tensor) => {
    const out = cell(g as tf.Tensor2D, c as tf.Tensor2D);
    return tf.sum(tf.mul(tf.add(out.hidden, out.cell), weights));
  };
  const once = () => tf.dispose(tf.grads(loss)([gates, prevCell]));
  once();
  const start = process.hrtime.bigint();
  for (let step = 0; step < steps; step++) once();
  return Number(process.hrtime.bigint() - start) / 1000 / steps;
}

async function main(): Promise<void> {
  await tf.setBackend(option('backend', 'wasm'));
  await tf.ready();
  const rounds = count('rounds', 5);
  const steps = count('steps', 200);
  const shapes = option('shapes', '100x64,8x64')
    .split(',')
    .map((text) => text.split('x').map(Number) as [number, number]);
  const results: Record<string, Record<string, { medianMicros: number; bestMicros: number }>> = {};
  const loadBefore = loadavg()[0];
  for (const [batch, hidden] of shapes) {
    const gates = tf.randomNormal([batch, 4 * hidden], 0, 2, 'float32', 1) as tf.Tensor2D;
    const prevCell = tf.randomNormal([batch, hidden], 0, 1, 'float32', 2) as tf.Tensor2D;
    const weights = tf.randomNormal([batch, hidden], 0, 1, 'float32', 3);
    const times = new Map<PathName, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const path of Object.keys(PATHS) as PathName[]) {
        times.set(path, [...(times.get(path) ?? []), timeSteps(path, gates, prevCell, weights, steps)]);
      }
    }
    const shape = `B${batch} H${hidden}`;
    results[shape] = {};
    for (const [path, values] of times) {
      const sorted = [...values].sort((a, b) => a - b);
      const summary = { medianMicros: sorted[Math.floor(sorted.length / 2)], bestMicros: sorted[0] };
      results[shape][path] = summary;
      const { medianMicros, bestMicros } = summary;
      console.log(`${shape} ${path.padEnd(10)} median ${medianMicros.toFixed(0)} µs, best ${bestMicros.toFixed(0)} µs`);
    }
    tf.dispose([gates, prevCell, weights]);
  }
  setLstmCellSimd(null);
  console.log(
    JSON.stringify({ backend: tf.getBackend(), rounds, steps, load1: [loadBefore, loadavg()[0]], results }, null, 0),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
