/**
 * Milliseconds per forward+backward step of the sparse memories SAM and SDNC (Rae et al. 2016) as N grows:
 * batch 8, 16-step sequences, W 32, R 4, K 4 (K_L 4), interface weights and inputs differentiated through the
 * whole sequence (BPTT through the journal). Each iteration starts from an empty memory, as an episode does
 * (`initialState` undoes the last sequence's writes in O(rows written)); the index is whatever `indexType auto`
 * picks at that N (exact ≤ 1e5 < hnsw) and is filled incrementally by the writes, never built from all N rows.
 *
 *   npm run bench:sparse [-- --backend wasm|cpu --sizes 1000,4000,... --seconds 4 --cap 120 --fill-rows 64000
 *     --index auto]
 *
 * `--fill-rows F` (default 64,000: every cell written up to 64k cells; `--fill-rows 0` for an empty memory, which
 * hides the search cost) seeds min(N, F) random rows (spread evenly over the cells) into every batch element's starting
 * memory before timing, to show search costs on a populated memory (exact search scans every seeded row; hnsw
 * builds its graph from them once, in the set-up time: seeding the rows, drawn beforehand, and building the index).
 *
 * Prints one line per (model, N) and, as the last line, a JSON summary with `ratio_64k_over_1k`. Each row also
 * carries the process's CPU time per step and for the set-up, which other jobs on a shared machine disturb far
 * less than wall time.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { INDEX_TYPES } from '../engine/memory/sparse/index/create-index';
import { SparseAccessMemory, SparseTemporalMemory } from '../engine/memory/sparse/sparse-memory';
import type { SparseMemoryState } from '../engine/memory/sparse/sparse-memory-base';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const BATCH = 8;
const STEPS = 16;
const CELL_SIZE = 32;
const READ_HEADS = 4;
const SPARSE_READS = 4;
const INPUT_SIZE = 64;
const backend = option('backend', 'wasm');
const sizes = option('sizes', '1000,4000,16000,64000,256000,1000000').split(',').map(Number);
const minSeconds = Number(option('seconds', '4'));
const capSeconds = Number(option('cap', '120'));
const fillRows = Number(option('fill-rows', '64000'));
const indexOption = option('index', 'auto');
const indexType = INDEX_TYPES.find((type) => type === indexOption);
if (indexType === undefined) throw new Error(`--index must be one of ${INDEX_TYPES.join(', ')}, got ${indexOption}`);
if (!Number.isInteger(fillRows) || fillRows < 0)
  throw new Error(`--fill-rows must be a non-negative integer, got ${option('fill-rows', '')}`);
for (const size of sizes)
  if (!Number.isInteger(size) || size <= 0)
    throw new Error(`--sizes: every size must be a positive integer, got ${size}`);

interface Row {
  model: 'sam' | 'sdnc';
  memorySize: number;
  index: string;
  msPerStep: number | null;
  /** Fastest iteration per step: less sensitive to other jobs on a shared machine than the median. */
  minMsPerStep: number | null;
  /** CPU time of this process (all its threads) per timed step: what other jobs on the machine change least. */
  cpuMsPerStep: number | null;
  iterations: number;
  setupMs: number;
  /** CPU time of the set-up (the hnsw bulk build's worker threads included). */
  setupCpuMs: number;
  filledRows: number;
  note?: string;
}

/** User + system milliseconds of a `process.cpuUsage` difference. */
function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function iteration(memory: SparseAccessMemory, xs: tf.Variable[], projections: tf.Tensor3D[]): void {
  const weight = [...memory.variables.values()];
  const { value, grads } = tf.variableGrads(() => {
    let state: SparseMemoryState = memory.initialState(BATCH);
    let loss: tf.Scalar = tf.scalar(0);
    xs.forEach((x, t) => {
      const result = memory.step(x as tf.Tensor2D, state);
      loss = tf.add(loss, tf.sum(tf.mul(result.readVectors, projections[t])));
      state = result.state;
    });
    return loss;
  }, [...weight, ...xs]);
  value.dataSync();
  value.dispose();
  for (const grad of Object.values(grads)) grad.dispose();
}

async function main(): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: could not initialise '${backend}'`);
  await tf.ready();
  const xs = Array.from({ length: STEPS }, (_, t) =>
    tf.variable(tf.randomNormal([BATCH, INPUT_SIZE], 0, 1, 'float32', t), true, `bench_x${t}`),
  );
  const projections = Array.from(
    { length: STEPS },
    (_, t) => tf.randomNormal([BATCH, READ_HEADS, CELL_SIZE], 0, 1, 'float32', 100 + t) as tf.Tensor3D,
  );
  const rows: Row[] = [];
  console.log(
    `backend ${tf.getBackend()}, batch ${BATCH}, ${STEPS} steps, W ${CELL_SIZE}, R ${READ_HEADS}, K ${SPARSE_READS}, ` +
      `K_L 4`,
  );
  for (const model of ['sam', 'sdnc'] as const) {
    // JIT and kernel warm-up on a small memory, so the first size is not charged for it.
    const warmConfig = {
      inputSize: INPUT_SIZE,
      memorySize: 1000,
      cellSize: CELL_SIZE,
      readHeads: READ_HEADS,
      sparseReads: SPARSE_READS,
      temporalReads: 4,
    };
    const warm = model === 'sam' ? new SparseAccessMemory(warmConfig, 1) : new SparseTemporalMemory(warmConfig, 1);
    for (let i = 0; i < 3; i++) iteration(warm, xs, projections);
    warm.dispose();
    for (const memorySize of sizes) {
      const filledRows = Math.min(memorySize, fillRows);
      // The seeded rows are drawn before the clock starts: the set-up is seeding the memory and building its index.
      const seeds = Array.from({ length: filledRows > 0 ? BATCH : 0 }, () => {
        const rows = new Float32Array(filledRows * CELL_SIZE);
        for (let i = 0; i < rows.length; i++) rows[i] = Math.random() * 2 - 1;
        return rows;
      });
      const setupStart = performance.now();
      const setupCpu = process.cpuUsage();
      const config = {
        inputSize: INPUT_SIZE,
        memorySize,
        cellSize: CELL_SIZE,
        readHeads: READ_HEADS,
        sparseReads: SPARSE_READS,
        temporalReads: 4,
        indexType,
      };
      const memory = model === 'sam' ? new SparseAccessMemory(config, 1) : new SparseTemporalMemory(config, 1);
      memory.initialState(BATCH);
      if (filledRows > 0) {
        const stride = memorySize / filledRows;
        const cells = Int32Array.from({ length: filledRows }, (_, i) => Math.floor(i * stride));
        seeds.forEach((rows, b) => memory.seedRows(b, cells, rows));
        // The first iteration brings an hnsw graph up to date with the seeded rows: part of the set-up.
        iteration(memory, xs, projections);
      }
      const setupMs = performance.now() - setupStart;
      const setupCpuMs = cpuMs(process.cpuUsage(setupCpu));
      const times: number[] = [];
      let cpuTimed = 0;
      const started = performance.now();
      let note: string | undefined;
      // Two warm-up iterations (kernel set-up, index growth), then timed ones until minSeconds have passed (at
      // least 2) or the cap is reached.
      for (let i = 0; ; i++) {
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        iteration(memory, xs, projections);
        if (i > 1) {
          times.push(performance.now() - t0);
          cpuTimed += cpuMs(process.cpuUsage(cpu0));
        }
        const elapsed = (performance.now() - started) / 1000;
        if (elapsed > capSeconds) {
          note = `capped at ${capSeconds} s`;
          break;
        }
        if (times.length >= 2 && elapsed > minSeconds) break;
      }
      times.sort((a, b) => a - b);
      const median = times.length > 0 ? times[Math.floor(times.length / 2)] / STEPS : null;
      const fastest = times.length > 0 ? times[0] / STEPS : null;
      const row: Row = {
        model,
        memorySize,
        index: memory.indexKind,
        msPerStep: median,
        minMsPerStep: fastest,
        cpuMsPerStep: times.length > 0 ? Number((cpuTimed / times.length / STEPS).toFixed(3)) : null,
        iterations: times.length,
        setupMs: Math.round(setupMs),
        setupCpuMs: Math.round(setupCpuMs),
        filledRows,
        note,
      };
      rows.push(row);
      console.log(
        `${model.padEnd(5)} N ${String(memorySize).padStart(8)}  index ${row.index.padEnd(6)} ` +
          `${median === null ? 'n/a' : median.toFixed(2).padStart(8)} ms/step (min ` +
          `${fastest === null ? 'n/a' : fastest.toFixed(2)}, cpu ${row.cpuMsPerStep ?? 'n/a'})  (${times.length} ` +
          `iterations, ${filledRows} rows seeded, setup ${row.setupMs} ms, cpu ${row.setupCpuMs} ms` +
          `${note ? `, ${note}` : ''})`,
      );
      memory.dispose();
    }
  }
  type Field = 'msPerStep' | 'minMsPerStep' | 'cpuMsPerStep';
  const at = (model: 'sam' | 'sdnc', size: number, field: Field) =>
    rows.find((r) => r.model === model && r.memorySize === size)?.[field] ?? null;
  const ratio = (model: 'sam' | 'sdnc', field: Field = 'msPerStep') => {
    const small = at(model, 1000, field);
    const large = at(model, 64000, field);
    return small === null || large === null ? null : Number((large / small).toFixed(3));
  };
  console.log(
    JSON.stringify({
      bench: 'sparse',
      backend: tf.getBackend(),
      batch: BATCH,
      steps: STEPS,
      cellSize: CELL_SIZE,
      readHeads: READ_HEADS,
      sparseReads: SPARSE_READS,
      start:
        fillRows > 0
          ? `${fillRows} seeded rows (≤ N) per element, restored each sequence`
          : 'empty memory per sequence',
      loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
      results: rows,
      ratio_64k_over_1k: { sam: ratio('sam'), sdnc: ratio('sdnc') },
      ratio_64k_over_1k_fastest: { sam: ratio('sam', 'minMsPerStep'), sdnc: ratio('sdnc', 'minMsPerStep') },
      ratio_64k_over_1k_cpu: { sam: ratio('sam', 'cpuMsPerStep'), sdnc: ratio('sdnc', 'cpuMsPerStep') },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
