/**
 * Replay of a pytorch-dnc `Memory` fixture (recorded from pytorch-dnc 2.0, format in
 * `fixtures/pytorch-dnc/README.md`) through the engine's dense DNC memory (Graves et al. 2016), step by
 * step from the fixture's initial state, comparing the interface, every intermediate weighting, the state after
 * each step and the read vectors. Fields are found by name, so any fixture of this format works.
 *
 * Allocation ties: pytorch-dnc orders equal usages with `torch.topk`, which is not stable; the engine sends ties
 * to the lowest index. With `injectSortOrder` the recorded free-list order is used on steps flagged as tied, and
 * every tensor must match; without it only the read vectors are expected to match (tied empty cells are
 * interchangeable, so the state comes out permuted).
 */
import * as tf from '@tensorflow/tfjs';
import { DenseMemory } from '../memory/dense-memory';
import type { DenseMemoryState, ParameterRecord } from '../memory/dense-memory';

/** `{shape, data}` as stored in the fixtures. */
export interface FixtureTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** Result of one replay. */
export interface MemoryFixtureReport {
  /** The fixture's own `fixture` field, or 'unnamed'. */
  readonly fixture: string;
  readonly steps: number;
  /** Steps where the fixture flags tied usages in any batch row. */
  readonly tieSteps: readonly number[];
  /** Steps that ran with the recorded sort order injected. */
  readonly injectedSteps: readonly number[];
  /** Largest |engine − fixture| over all steps, per compared tensor (`read_vectors`, `state_after.memory`, …). */
  readonly maxAbsError: Readonly<Record<string, number>>;
  /** (step, batch row) pairs without recorded ties where the engine's free-list order differs from the recorded. */
  readonly sortOrderMismatches: number;
}

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: Json, name: string, where: string): Json {
  if (!isRecord(value) || !(name in value)) throw new Error(`replayMemoryFixture: ${where} has no field '${name}'`);
  return value[name];
}

function numberField(value: Json, name: string, where: string): number {
  const result = field(value, name, where);
  if (typeof result !== 'number')
    throw new Error(`replayMemoryFixture: ${where}.${name} must be a number, got ${JSON.stringify(result)}`);
  return result;
}

function isNumberArray(value: Json): value is number[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'number');
}

function asTensor(value: Json, where: string): FixtureTensor {
  const shape = field(value, 'shape', where);
  const data = field(value, 'data', where);
  if (!isNumberArray(shape) || !isNumberArray(data))
    throw new Error(`replayMemoryFixture: ${where} must be {shape: number[], data: number[]}`);
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  if (size !== data.length)
    throw new Error(`replayMemoryFixture: ${where} has ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape, data };
}

function tensorField(value: Json, name: string, where: string): FixtureTensor {
  return asTensor(field(value, name, where), `${where}.${name}`);
}

// Largest absolute difference; sizes must agree (fixture shapes may carry extra unit axes, e.g. [B, 1, N]).
function maxAbsDifference(
  actual: Float32Array | Int32Array | Uint8Array,
  expected: FixtureTensor,
  name: string,
): number {
  if (actual.length !== expected.data.length) {
    throw new Error(
      `replayMemoryFixture: ${name} has ${actual.length} values in the engine, ${expected.data.length} in the fixture`,
    );
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const difference = Math.abs(actual[i] - expected.data[i]);
    worst = Number.isNaN(difference) ? Infinity : Math.max(worst, difference);
  }
  return worst;
}

// The fixture's free-list orders and tie flags of one step, per batch row.
function sortInfo(intermediates: Json, where: string): { order: number[][]; ties: boolean[] } | undefined {
  if (!isRecord(intermediates) || !('allocation_sort_order' in intermediates)) return undefined;
  const order = intermediates.allocation_sort_order;
  const ties = intermediates.allocation_ties;
  if (!Array.isArray(order) || !order.every(isNumberArray))
    throw new Error(`replayMemoryFixture: ${where}.allocation_sort_order must be number[][]`);
  const tieFlags = Array.isArray(ties) ? ties.map((flag) => flag === true) : order.map(() => false);
  return { order, ties: tieFlags };
}

/**
 * Replay a memory fixture and measure the largest error of every recorded tensor. Values are read back
 * asynchronously once per step, so the replay runs on any backend (webgpu included).
 *
 * @param json the parsed fixture file
 * @param options.injectSortOrder use the recorded free-list order on steps with tied usages
 */
export async function replayMemoryFixture(
  json: Json,
  options: { injectSortOrder: boolean },
): Promise<MemoryFixtureReport> {
  const config = field(json, 'config', 'fixture');
  const batch = numberField(config, 'batch', 'config');
  const memorySize = numberField(config, 'nr_cells', 'config');
  const cellSize = numberField(config, 'cell_size', 'config');
  const readHeads = numberField(config, 'read_heads', 'config');
  const inputSize = numberField(config, 'input_size', 'config');
  const independentLinears = isRecord(config) && config.independent_linears === true;
  const nameField = isRecord(json) ? json.fixture : undefined;
  const fixtureName = typeof nameField === 'string' ? nameField : 'unnamed';

  const paramsJson = field(json, 'params', 'fixture');
  if (!isRecord(paramsJson)) throw new Error('replayMemoryFixture: params must be an object');
  const params: Record<string, ParameterRecord> = {};
  for (const name of Object.keys(paramsJson)) params[name] = asTensor(paramsJson[name], `params.${name}`);

  const stepsJson = field(json, 'steps', 'fixture');
  if (!Array.isArray(stepsJson)) throw new Error('replayMemoryFixture: steps must be an array');

  const memory = new DenseMemory({ inputSize, memorySize, cellSize, readHeads, independentLinears });
  const maxAbsError: Record<string, number> = {};
  // Tensors to compare, kept (as clones) past the step's tidy scope and read after it.
  let pending: { name: string; actual: tf.Tensor; expected: FixtureTensor }[] = [];
  const record = (name: string, actual: tf.Tensor, expected: FixtureTensor): void => {
    pending.push({ name, actual: tf.keep(tf.clone(actual)), expected });
  };
  const settle = async (): Promise<void> => {
    const batchOfReads = pending;
    pending = [];
    try {
      for (const { name, actual, expected } of batchOfReads) {
        const error = maxAbsDifference(await actual.data(), expected, name);
        maxAbsError[name] = Math.max(maxAbsError[name] ?? 0, error);
      }
    } finally {
      tf.dispose(batchOfReads.map((entry) => entry.actual));
    }
  };
  const tieSteps: number[] = [];
  const injectedSteps: number[] = [];
  let sortOrderMismatches = 0;

  const initial = field(json, 'initial_state', 'fixture');
  let state: DenseMemoryState = {
    memory: tf.tensor3d(Float32Array.from(tensorField(initial, 'memory', 'initial_state').data), [
      batch,
      memorySize,
      cellSize,
    ]),
    linkMatrix: tf.tensor3d(Float32Array.from(tensorField(initial, 'link_matrix', 'initial_state').data), [
      batch,
      memorySize,
      memorySize,
    ]),
    precedence: tf.tensor2d(Float32Array.from(tensorField(initial, 'precedence', 'initial_state').data), [
      batch,
      memorySize,
    ]),
    readWeights: tf.tensor3d(Float32Array.from(tensorField(initial, 'read_weights', 'initial_state').data), [
      batch,
      readHeads,
      memorySize,
    ]),
    writeWeights: tf.tensor2d(Float32Array.from(tensorField(initial, 'write_weights', 'initial_state').data), [
      batch,
      memorySize,
    ]),
    usage: tf.tensor2d(Float32Array.from(tensorField(initial, 'usage_vector', 'initial_state').data), [
      batch,
      memorySize,
    ]),
  };

  try {
    memory.loadParams(params);
    for (const [t, stepJson] of (stepsJson as Json[]).entries()) {
      const where = `steps[${t}]`;
      const intermediates = isRecord(stepJson) ? stepJson.intermediates : undefined;
      const sort = sortInfo(intermediates, `${where}.intermediates`);
      const tied = sort?.ties.some((flag) => flag);
      if (tied) tieSteps.push(t);
      const inject = options.injectSortOrder && tied && sort !== undefined;
      if (inject) injectedSteps.push(t);

      const kept: { sortOrder?: tf.Tensor } = {};
      const next = tf.tidy(() => {
        const xi = tf.tensor2d(Float32Array.from(tensorField(stepJson, 'controller_output_xi', where).data), [
          batch,
          inputSize,
        ]);
        const injected = inject ? tf.tensor2d(sort.order.flat(), [batch, memorySize], 'int32') : undefined;
        if (isRecord(stepJson) && 'interface_raw' in stepJson) {
          record('interface_raw', memory.interfaceRaw(xi), tensorField(stepJson, 'interface_raw', where));
        }
        const { controls, trace } = memory.trace(xi, state, { allocationSortOrder: injected });
        const parsed = isRecord(stepJson) ? stepJson.parsed_interface : undefined;
        if (isRecord(parsed)) {
          const ours: Record<string, tf.Tensor> = {
            read_keys: controls.readKeys,
            read_strengths: controls.readStrengths,
            write_key: controls.writeKey,
            write_strength: controls.writeStrength,
            erase_vector: controls.eraseVector,
            write_vector: controls.writeVector,
            free_gates: controls.freeGates,
            allocation_gate: controls.allocationGate,
            write_gate: controls.writeGate,
            read_modes: controls.readModes,
          };
          for (const name of Object.keys(parsed)) {
            const tensor = ours[name];
            if (tensor === undefined)
              throw new Error(
                `replayMemoryFixture: ${where}.parsed_interface.${name} is not an interface part the engine knows`,
              );
            record(`parsed_interface.${name}`, tensor, asTensor(parsed[name], `${where}.parsed_interface.${name}`));
          }
        }
        if (isRecord(intermediates)) {
          const ours: Record<string, tf.Tensor> = {
            usage_after_retention: trace.state.usage,
            usage_clamped_for_allocation: trace.clampedUsage,
            write_content_weights: trace.writeContentWeights,
            allocation_weights: trace.allocationWeights,
            read_content_weights: trace.readContentWeights,
            forward_weights: trace.forwardWeights,
            backward_weights: trace.backwardWeights,
          };
          for (const name of Object.keys(ours)) {
            if (name in intermediates)
              record(
                `intermediates.${name}`,
                ours[name],
                asTensor(intermediates[name], `${where}.intermediates.${name}`),
              );
          }
        }
        if (sort !== undefined) kept.sortOrder = tf.keep(tf.clone(trace.sortOrder));
        const after = field(stepJson, 'state_after', where);
        const ourState: Record<string, tf.Tensor> = {
          memory: trace.state.memory,
          link_matrix: trace.state.linkMatrix,
          precedence: trace.state.precedence,
          read_weights: trace.state.readWeights,
          write_weights: trace.state.writeWeights,
          usage_vector: trace.state.usage,
        };
        for (const name of Object.keys(ourState)) {
          record(`state_after.${name}`, ourState[name], tensorField(after, name, `${where}.state_after`));
        }
        record('read_vectors', trace.readVectors, tensorField(stepJson, 'read_vectors', where));
        return trace.state;
      });
      for (const tensor of Object.values(state)) tensor.dispose();
      state = next;
      await settle();
      if (sort !== undefined && kept.sortOrder !== undefined) {
        const flat = await kept.sortOrder.data();
        kept.sortOrder.dispose();
        sort.order.forEach((recorded, row) => {
          const offset = row * memorySize;
          if (!sort.ties[row] && recorded.some((cell, j) => cell !== flat[offset + j])) sortOrderMismatches += 1;
        });
      }
    }
  } finally {
    tf.dispose(pending.map((entry) => entry.actual));
    for (const tensor of Object.values(state)) tensor.dispose();
    memory.dispose();
  }
  return { fixture: fixtureName, steps: stepsJson.length, tieSteps, injectedSteps, maxAbsError, sortOrderMismatches };
}
