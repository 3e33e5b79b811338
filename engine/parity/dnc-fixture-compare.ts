/**
 * Measuring a DNC fixture replay (`replayDncFixture`): the running largest error per tensor name, and the
 * comparisons of engine memory states and debug frames with the fixture's records. Every readout is asynchronous.
 */
import * as tf from '@tensorflow/tfjs';
import type { DebugFrame } from '../frames';
import { findTensor } from '../frames';
import type { MemoryState } from '../memory/types';
import { asTensor, type FixtureTensor, field, type Json, STATE_NAMES, tensorField } from './dnc-fixture-load';

/** Running maximum of |actual − expected| per name. */
export class ErrorTable {
  readonly errors: Record<string, number> = {};
  compare(name: string, actual: ArrayLike<number>, expected: readonly number[]): void {
    if (actual.length !== expected.length)
      throw new Error(
        `replayDncFixture: ${name} has ${actual.length} values in the engine, ${expected.length} in the fixture`,
      );
    let worst = this.errors[name] ?? 0;
    for (let i = 0; i < actual.length; i++) {
      const d = Math.abs(actual[i] - expected[i]);
      worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    }
    this.errors[name] = worst;
  }
}

/** Batch element 0 of a fixture tensor whose first axis is the batch. */
function firstRow(t: FixtureTensor): number[] {
  return t.data.slice(0, t.data.length / t.shape[0]);
}

/** A tensor's values on the host, read asynchronously (the webgpu backend in Node has no synchronous read). */
export async function read(tensor: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await tensor.data());
}

/** Compute a tensor in a tidy scope, read it, and free it. */
export async function readComputed(compute: () => tf.Tensor): Promise<Float32Array> {
  const tensor = tf.tidy(compute);
  try {
    return await read(tensor);
  } finally {
    tensor.dispose();
  }
}

export async function compareState(
  table: ErrorTable,
  prefix: string,
  state: MemoryState,
  expected: Json,
  where: string,
): Promise<void> {
  for (const [pytorchName, engineName] of Object.entries(STATE_NAMES)) {
    table.compare(
      `${prefix}.${pytorchName}`,
      await read(state[engineName]),
      tensorField(expected, pytorchName, where).data,
    );
  }
}

/** Compare one call's debug frame (batch 0) with the recorded memory calls `first…first+T−1`. */
export function compareFrame(table: ErrorTable, frame: DebugFrame, calls: Json[], first: number, layers: number): void {
  for (let t = 0; t < frame.timesteps; t++) {
    const call = calls[first + t * layers];
    const pick = (name: string) => {
      const tensor = findTensor(frame, name);
      if (tensor === undefined) throw new Error(`replayDncFixture: debug frame has no '${name}'`);
      const size = tensor.data.length / frame.timesteps;
      return tensor.data.subarray(t * size, (t + 1) * size);
    };
    table.compare(
      'debug.controllerOutput',
      pick('controllerOutput'),
      firstRow(tensorField(call, 'xi', `memory_calls[${t}]`)),
    );
    table.compare(
      'debug.readVectors',
      pick('readVectors'),
      firstRow(tensorField(call, 'read_vectors', `memory_calls[${t}]`)),
    );
    const after = field(call, 'state_after', `memory_calls[${t}]`);
    for (const [pytorchName, engineName] of Object.entries(STATE_NAMES)) {
      table.compare(
        `debug.${engineName}`,
        pick(engineName),
        firstRow(tensorField(after, pytorchName, `memory_calls[${t}].state_after`)),
      );
    }
  }
}

/** pytorch-dnc's `debug=True` dict: lists of T·layers arrays for batch element 0, keyed by pytorch state name. */
export function compareDebugDict(table: ErrorTable, frame: DebugFrame, debugMemory: Json): void {
  for (const [pytorchName, engineName] of Object.entries(STATE_NAMES)) {
    const list = field(debugMemory, pytorchName, 'debug_memory');
    if (!Array.isArray(list)) throw new Error(`replayDncFixture: debug_memory.${pytorchName} must be an array`);
    const tensor = findTensor(frame, engineName);
    if (tensor === undefined) throw new Error(`replayDncFixture: debug frame has no '${engineName}'`);
    table.compare(
      `debug_memory.${pytorchName}`,
      tensor.data,
      list.flatMap((entry, i) => asTensor(entry, `debug_memory.${pytorchName}[${i}]`).data),
    );
  }
}
