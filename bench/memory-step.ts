/**
 * Microseconds per dense DNC memory step: the fused kernel (`engine/memory/fused`, one taped op) against the plain
 * tfjs path (`denseMemoryStep`, one op per mechanism), on the cpu and wasm backends.
 *
 *   npm run bench:memory-step [-- --backends cpu,wasm --configs all --seconds 0.5]
 *
 * For each backend and size it times, median over repetitions after a warm-up:
 *  - `forward`: one step outside any gradient tape (inference, debug replays);
 *  - `forwardBackward`: the step and the gradients w.r.t. all 16 inputs (interface parts and previous state), with
 *    a fixed random upstream gradient P_k injected into each of the seven outputs (read vectors, new state);
 *  - `kernel` (fused only): the typed-array forward + backward alone, without tfjs, i.e. the floor.
 * Candidates run interleaved so machine load hits them alike; the table gives median (min) per call.
 * Prints a table per backend and, as the last line, a JSON summary.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { denseMemoryStep, type DenseMemoryState } from '../engine/memory/dense-step';
import type { MemoryInterface } from '../engine/memory/interface';
import { denseStepForward } from '../engine/memory/fused/dense-step-kernel';
import {
  DENSE_STEP_INPUT_NAMES,
  densePackedLayout,
  denseStepInputShapes,
  type DenseStepInputName,
  type DenseStepSizes,
} from '../engine/memory/fused/dense-step-layout';
import { denseStepBackward } from '../engine/memory/fused/dense-step-kernel-backward';
import { fusedMemoryStep } from '../engine/memory/fused/fused-memory-step';
import { customGradient } from '../engine/util/custom-gradient';
import { randomStepInputs, seededRandom, stepArguments } from '../engine/memory/fused/random-step-inputs';

interface BenchConfig extends DenseStepSizes {
  readonly name: string;
}

const CONFIGS: readonly BenchConfig[] = [
  { name: 'B100-N16-W20-R4', batch: 100, memorySize: 16, cellSize: 20, readHeads: 4 },
  { name: 'B8-N64-W32-R1', batch: 8, memorySize: 64, cellSize: 32, readHeads: 1 },
  { name: 'B8-N256-W32-R1', batch: 8, memorySize: 256, cellSize: 32, readHeads: 1 },
  { name: 'B8-N1024-W32-R1', batch: 8, memorySize: 1024, cellSize: 32, readHeads: 1 },
];

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const backends = option('backends', 'cpu,wasm')
  .split(',')
  .filter((name) => name !== '');
const configNames = option('configs', 'all');
const minSeconds = Number(option('seconds', '0.5'));
if (!Number.isFinite(minSeconds) || minSeconds <= 0)
  throw new Error(`--seconds must be a positive number, got ${option('seconds', '')}`);
const configs =
  configNames === 'all' ? CONFIGS : CONFIGS.filter((config) => configNames.split(',').includes(config.name));
if (configs.length === 0) throw new Error(`--configs matched nothing; known: ${CONFIGS.map((c) => c.name).join(', ')}`);

interface Timing {
  /** Median µs per call. */
  readonly median: number;
  /** Fastest call in µs: the least disturbed by other processes on a shared machine. */
  readonly min: number;
}

/**
 * Time several candidates interleaved (A B C A B C …) so that load from other processes hits all of them alike:
 * 2 warm-up calls each, then rounds until `minSeconds` have passed and at least 3 rounds ran.
 */
function timeInterleaved(runs: readonly (() => void)[]): Timing[] {
  for (const run of runs) {
    run();
    run();
  }
  const samples: number[][] = runs.map(() => []);
  const start = performance.now();
  while (samples[0].length < 3 || performance.now() - start < minSeconds * 1000) {
    runs.forEach((run, index) => {
      const t0 = performance.now();
      run();
      samples[index].push((performance.now() - t0) * 1000);
    });
  }
  return samples.map((values) => {
    values.sort((a, b) => a - b);
    return { median: values[Math.floor(values.length / 2)], min: values[0] };
  });
}

type StepFunction = (
  parsed: MemoryInterface,
  prev: DenseMemoryState,
) => { readVectors: tf.Tensor3D; state: DenseMemoryState };

const fusedStep: StepFunction = (parsed, prev) => fusedMemoryStep(parsed, prev);
const plainStep: StepFunction = (parsed, prev) => denseMemoryStep(prev, parsed);

interface Row {
  readonly backend: string;
  readonly config: string;
  readonly fusedForward: Timing;
  readonly fusedForwardBackward: Timing;
  readonly plainForward?: Timing;
  readonly plainForwardBackward?: Timing;
  /** The fused kernel's typed-array forward + backward without tfjs. */
  readonly kernel: Timing;
  /** Plain over fused forward+backward, medians. */
  readonly speedupForwardBackward: number | null;
  readonly plainError?: string;
}

function benchConfig(backend: string, config: BenchConfig): Row {
  const arrays = randomStepInputs(config, 1);
  const shapes = denseStepInputShapes(config);
  const inputs = DENSE_STEP_INPUT_NAMES.map((name) =>
    tf.tensor(Float32Array.from(arrays[name]), [config.batch, ...shapes[name]]),
  );
  const random = seededRandom(2);
  const outputShapes = [
    [config.batch, config.readHeads, config.cellSize],
    [config.batch, config.memorySize, config.cellSize],
    [config.batch, config.memorySize, config.memorySize],
    [config.batch, config.memorySize],
    [config.batch, config.readHeads, config.memorySize],
    [config.batch, config.memorySize],
    [config.batch, config.memorySize],
  ];
  const projections = outputShapes.map((shape) =>
    tf.randomUniform(shape, -1, 1, 'float32', Math.floor(random() * 1e6)),
  );
  // Upstream gradients injected by a custom op whose gradient w.r.t. output k is the constant P_k (its value, 0, is
  // never used): every output receives a gradient, as inside a BPTT unroll, at next to no cost on either path —
  // a real loss (sum, matMul) costs the cpu backend as much as the fused step itself at some sizes.
  const injectGradients = customGradient(() => ({
    value: tf.scalar(0),
    gradFunc: () => projections.map((projection) => tf.clone(projection)),
  }));
  const loss =
    (step: StepFunction) =>
    (...xs: tf.Tensor[]): tf.Scalar => {
      const { parsed, prev } = stepArguments(xs, config);
      const { readVectors, state } = step(parsed, prev);
      return injectGradients(
        readVectors,
        state.memory,
        state.linkMatrix,
        state.precedence,
        state.readWeights,
        state.writeWeights,
        state.usage,
      ) as tf.Scalar;
    };
  const forward = (step: StepFunction) => () => {
    tf.tidy(() => {
      const { parsed, prev } = stepArguments(inputs, config);
      step(parsed, prev);
    });
  };
  const forwardBackward = (step: StepFunction) => () => {
    tf.tidy(() => {
      tf.valueAndGrads(loss(step))(inputs);
    });
  };

  const layout = densePackedLayout(config);
  const float32Inputs = Object.fromEntries(
    DENSE_STEP_INPUT_NAMES.map((name) => [name, Float32Array.from(arrays[name])]),
  ) as Record<DenseStepInputName, Float32Array>;
  const packedGradient = Float32Array.from({ length: layout.size }, () => random() * 2 - 1);
  const kernelOnly = () => {
    const packed = new Float32Array(layout.size);
    const tape = denseStepForward(config, float32Inputs, packed);
    const gradients = Object.fromEntries(
      DENSE_STEP_INPUT_NAMES.map((name) => [name, new Float32Array(float32Inputs[name].length)]),
    ) as Record<DenseStepInputName, Float32Array>;
    denseStepBackward(config, float32Inputs, packed, tape, packedGradient, gradients);
  };

  const tensorsBefore = tf.memory().numTensors;
  const [kernel] = timeInterleaved([kernelOnly]);
  // The plain path may fail on a backend; record why and time the fused path alone.
  let plainError: string | undefined;
  try {
    forwardBackward(plainStep)();
  } catch (error) {
    plainError = error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
  const candidates = [forward(fusedStep), forwardBackward(fusedStep)];
  if (plainError === undefined) candidates.push(forward(plainStep), forwardBackward(plainStep));
  const [fusedForward, fusedForwardBackward, plainForward, plainForwardBackward] = timeInterleaved(candidates);
  if (tf.memory().numTensors !== tensorsBefore) {
    throw new Error(`bench ${backend} ${config.name}: ${tf.memory().numTensors - tensorsBefore} tensors leaked`);
  }
  tf.dispose([...inputs, ...projections]);
  return {
    backend,
    config: config.name,
    fusedForward,
    fusedForwardBackward,
    plainForward,
    plainForwardBackward,
    kernel,
    speedupForwardBackward:
      plainForwardBackward === undefined
        ? null
        : Number((plainForwardBackward.median / fusedForwardBackward.median).toFixed(2)),
    ...(plainError === undefined ? {} : { plainError }),
  };
}

function rounded(timing: Timing | undefined): { median: number; min: number } | null {
  return timing === undefined ? null : { median: Math.round(timing.median), min: Math.round(timing.min) };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`--backends: tfjs backend '${backend}' failed to initialise`);
    await tf.ready();
    const COLUMN_HEADS = ['fwd fused', 'fwd plain', 'f+b fused', 'f+b plain', 'kernel f+b'];
    console.log(`\n${backend}: µs per memory step, median (min)`);
    console.log(`${'config'.padEnd(17)}${COLUMN_HEADS.map((h) => h.padStart(18)).join('')}   f+b speedup`);
    for (const config of configs) {
      const row = benchConfig(backend, config);
      rows.push(row);
      const cell = (timing: Timing | undefined) =>
        (timing === undefined ? 'failed' : `${Math.round(timing.median)} (${Math.round(timing.min)})`).padStart(18);
      const speedup = row.speedupForwardBackward === null ? '–' : `${row.speedupForwardBackward}×`;
      console.log(
        `${config.name.padEnd(17)}${[
          row.fusedForward,
          row.plainForward,
          row.fusedForwardBackward,
          row.plainForwardBackward,
          row.kernel,
        ]
          .map(cell)
          .join(
            '',
          )}   ${speedup.padStart(11)}${row.plainError === undefined ? '' : `   plain path: ${row.plainError}`}`,
      );
    }
  }
  const summary = rows.map((row) => ({
    backend: row.backend,
    config: row.config,
    fusedForward: rounded(row.fusedForward),
    plainForward: rounded(row.plainForward),
    fusedForwardBackward: rounded(row.fusedForwardBackward),
    plainForwardBackward: rounded(row.plainForwardBackward),
    kernelForwardBackward: rounded(row.kernel),
    speedupForwardBackward: row.speedupForwardBackward,
    ...(row.plainError === undefined ? {} : { plainError: row.plainError }),
  }));
  console.log(JSON.stringify({ bench: 'memory-step', unit: 'microseconds', minSeconds, rows: summary }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
