/**
 * Replay of a pytorch-dnc `DNC` fixture (format in `fixtures/pytorch-dnc/README.md`) through the
 * engine's whole DNC (Graves et al. 2016: controller, interface, memory, output) with the fixture's own weights,
 * inputs and starting state, measuring the largest error of every recorded tensor. Fields are found by name.
 *
 * Three runs:
 * - `stepwise`: T calls of one step, hidden state carried — compared with the fixture's `stepwise` record (the
 *   paper's semantics: r_{t−1} reaches the controller at t);
 * - `one-call`: one call over all T steps with the engine's default (paper) read feedback — must equal the same
 *   `stepwise` record, which is the point of the engine's departure from pytorch-dnc;
 * - `single-call`: one call with `readFeedback: 'initial'` — pytorch-dnc 2.0's own multi-step behaviour,
 *   compared with the fixture's `single_call` record, including its `debug_memory` dict.
 *
 * Allocation ties: with `injectSortOrder` the recorded free-list order is used on the steps the fixture flags as
 * tied, so per-cell tensors match too; without it only outputs and reads are expected to (see the README).
 */
import * as tf from '@tensorflow/tfjs';
import { DNC } from '../dnc';
import type { DNCHidden } from '../dnc-hidden';
import type { ControllerState } from '../controller/types';
import type { DebugFrame } from '../frames';
import { findTensor } from '../frames';
import type { MemoryState } from '../memory/types';
import { parseStateDict } from '../weights';

export type DncReplayMode = 'stepwise' | 'one-call' | 'single-call';
export const DNC_REPLAY_MODES: readonly DncReplayMode[] = ['stepwise', 'one-call', 'single-call'];

export interface DncReplayReport {
  readonly fixture: string;
  readonly mode: DncReplayMode;
  readonly steps: number;
  /** Memory calls (timestep·layers + layer) that ran with the recorded sort order. */
  readonly injectedCalls: readonly number[];
  /** Largest |engine − fixture| per compared tensor name. */
  readonly maxAbsError: Readonly<Record<string, number>>;
}

interface FixtureTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

type Json = unknown;

/** pytorch-dnc memory state names → the engine's. */
const STATE_NAMES: Readonly<Record<string, string>> = {
  memory: 'memory',
  link_matrix: 'linkMatrix',
  precedence: 'precedence',
  read_weights: 'readWeights',
  write_weights: 'writeWeights',
  usage_vector: 'usage',
};

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: Json, name: string, where: string): Json {
  if (!isRecord(value) || !(name in value)) throw new Error(`replayDncFixture: ${where} has no field '${name}'`);
  return value[name];
}

function asTensor(value: Json, where: string): FixtureTensor {
  const shape = field(value, 'shape', where);
  const data = field(value, 'data', where);
  const numbers = (v: Json): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
  if (!numbers(shape) || !numbers(data))
    throw new Error(`replayDncFixture: ${where} must be {shape: number[], data: number[]}`);
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new Error(`replayDncFixture: ${where} has ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape, data };
}

function tensorField(value: Json, name: string, where: string): FixtureTensor {
  return asTensor(field(value, name, where), `${where}.${name}`);
}

function configNumber(config: Json, name: string): number {
  const value = field(config, name, 'config');
  if (typeof value !== 'number')
    throw new Error(`replayDncFixture: config.${name} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function configBoolean(config: Json, name: string, fallback: boolean): boolean {
  if (!isRecord(config) || !(name in config)) return fallback;
  const value = config[name];
  if (typeof value !== 'boolean')
    throw new Error(`replayDncFixture: config.${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

/** True when `json` has the fields of a DNC fixture (as opposed to a memory fixture). */
export function isDncFixture(json: Json): boolean {
  return isRecord(json) && 'inputs_x' in json && 'params' in json && ('stepwise' in json || 'single_call' in json);
}

/** Build a model from the fixture's config and weights. */
export function modelFromFixture(json: Json, debug: boolean): DNC {
  const config = field(json, 'config', 'fixture');
  const rnnType = field(config, 'rnn_type', 'config');
  if (rnnType !== 'lstm' && rnnType !== 'gru' && rnnType !== 'rnn')
    throw new Error(`replayDncFixture: config.rnn_type must be lstm, gru or rnn, got ${JSON.stringify(rnnType)}`);
  const model = new DNC({
    inputSize: configNumber(config, 'input_size'),
    hiddenSize: configNumber(config, 'hidden_size'),
    rnnType,
    numLayers: configNumber(config, 'num_layers'),
    numHiddenLayers: configNumber(config, 'num_hidden_layers'),
    nrCells: configNumber(config, 'nr_cells'),
    cellSize: configNumber(config, 'cell_size'),
    readHeads: configNumber(config, 'read_heads'),
    clip: configNumber(config, 'clip'),
    bias: configBoolean(config, 'bias', true),
    independentLinears: configBoolean(config, 'independent_linears', false),
    shareMemory: configBoolean(config, 'share_memory_between_layers', true),
    batchFirst: true,
    debug,
    seed: 0,
  });
  try {
    model.loadStateDict(parseStateDict(field(json, 'params', 'fixture'), 'fixture params'));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** The fixture's starting hidden state (controller, memory, reads) as engine tensors. */
function initialHidden(json: Json, model: DNC, batchSize: number): DNCHidden {
  const o = model.options;
  if (o.numLayers !== 1)
    throw new Error(
      `replayDncFixture: fixtures with num_layers ${o.numLayers} are not supported (initial state layout is per ` +
        `layer 0)`,
    );
  const fresh = model.initialHidden(batchSize);
  const state = field(json, 'initial_controller_state', 'fixture');
  const perLayer = (t: FixtureTensor) => tf.unstack(tf.tensor(t.data as number[], [...t.shape])) as tf.Tensor2D[];
  const controller: ControllerState = {
    hidden: perLayer(tensorField(state, 'h0', 'initial_controller_state')),
    cell: o.rnnType === 'lstm' ? perLayer(tensorField(state, 'c0', 'initial_controller_state')) : undefined,
  };
  const reads = field(json, 'initial_read_vectors', 'fixture');
  const readVectors =
    typeof reads === 'string'
      ? fresh.readVectors
      : [tf.tensor2d(asTensor(reads, 'initial_read_vectors').data as number[], [batchSize, o.readHeads * o.cellSize])];
  const memoryJson = field(json, 'initial_memory_state', 'fixture');
  let memory = fresh.memory;
  if (typeof memoryJson !== 'string') {
    const shapes = Object.fromEntries(Object.entries(fresh.memory[0]).map(([k, t]) => [k, t.shape]));
    const loaded: Record<string, tf.Tensor> = {};
    for (const [pytorchName, engineName] of Object.entries(STATE_NAMES)) {
      loaded[engineName] = tf.tensor(
        tensorField(memoryJson, pytorchName, 'initial_memory_state').data as number[],
        shapes[engineName],
      );
    }
    memory = [loaded];
  }
  const unused = [
    ...fresh.controller.flatMap((s) => [...s.hidden, ...(s.cell ?? [])]),
    ...(readVectors === fresh.readVectors ? [] : fresh.readVectors),
    ...(memory === fresh.memory ? [] : Object.values(fresh.memory[0])),
  ];
  tf.dispose(unused);
  return { controller: [controller], memory, readVectors };
}

/** Running maximum of |actual − expected| per name. */
class ErrorTable {
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
async function read(tensor: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await tensor.data());
}

/** Compute a tensor in a tidy scope, read it, and free it. */
async function readComputed(compute: () => tf.Tensor): Promise<Float32Array> {
  const tensor = tf.tidy(compute);
  try {
    return await read(tensor);
  } finally {
    tensor.dispose();
  }
}

async function compareState(
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
function compareFrame(table: ErrorTable, frame: DebugFrame, calls: Json[], first: number, layers: number): void {
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

/**
 * Replay a DNC fixture in one mode and measure the largest error of every compared tensor. Every readout is
 * asynchronous, so the replay runs on any backend (webgpu included).
 * @param json the parsed fixture file
 */
export async function replayDncFixture(
  json: Json,
  options: { mode: DncReplayMode; injectSortOrder: boolean },
): Promise<DncReplayReport> {
  if (!DNC_REPLAY_MODES.includes(options.mode))
    throw new Error(
      `replayDncFixture: mode must be one of ${DNC_REPLAY_MODES.join(', ')}, got ${JSON.stringify(options.mode)}`,
    );
  const name = isRecord(json) && typeof json.fixture === 'string' ? json.fixture : 'unnamed';
  const record = field(json, options.mode === 'single-call' ? 'single_call' : 'stepwise', 'fixture');
  const callsJson = field(record, 'memory_calls', options.mode === 'single-call' ? 'single_call' : 'stepwise');
  if (!Array.isArray(callsJson)) throw new Error('replayDncFixture: memory_calls must be an array');
  const calls: Json[] = callsJson;
  const inputs = tensorField(json, 'inputs_x', 'fixture');
  if (inputs.shape.length !== 3)
    throw new Error(`replayDncFixture: inputs_x must be [batch, time, input], got [${inputs.shape.join(', ')}]`);
  const [batchSize, steps] = inputs.shape;
  const resetExperience = configBoolean(field(json, 'config', 'fixture'), 'reset_experience', false);
  const model = modelFromFixture(json, options.mode !== 'stepwise');
  const layers = model.options.numLayers;
  const table = new ErrorTable();
  const injectedCalls: number[] = [];
  const memoryStepOptions = (offset: number) => (t: number, layer: number) => {
    const index = offset + t * layers + layer;
    const call = calls[index];
    if (!options.injectSortOrder || !isRecord(call)) return undefined;
    const ties = call.allocation_ties;
    const order = call.allocation_sort_order;
    if (!Array.isArray(ties) || !ties.some((flag) => flag === true) || !Array.isArray(order)) return undefined;
    if (!injectedCalls.includes(index)) injectedCalls.push(index);
    return { allocationSortOrder: tf.tensor2d(order as number[][], undefined, 'int32') };
  };

  const x = tf.tensor3d(inputs.data as number[], [batchSize, steps, inputs.shape[2]]);
  let hidden = initialHidden(json, model, batchSize);
  try {
    const outputs: Float32Array[] = [];
    if (options.mode === 'stepwise') {
      for (let t = 0; t < steps; t++) {
        const xt = tf.slice(x, [0, t, 0], [batchSize, 1, inputs.shape[2]]);
        const result = model.forward(xt, hidden, {
          resetExperience: resetExperience && t === 0,
          memoryStepOptions: memoryStepOptions(t * layers),
        });
        xt.dispose();
        model.disposeHidden(hidden);
        hidden = result.hidden;
        outputs.push(await read(result.output));
        result.output.dispose();
        const call = calls[t * layers + layers - 1];
        const top = hidden.controller[layers - 1].hidden;
        const clip = model.options.clip;
        const xi = await readComputed(() =>
          clip > 0 ? tf.clipByValue(top[top.length - 1], -clip, clip) : tf.clone(top[top.length - 1]),
        );
        table.compare('xi', xi, tensorField(call, 'xi', `memory_calls[${t}]`).data);
        table.compare(
          'read_vectors',
          await read(hidden.readVectors[layers - 1]),
          tensorField(call, 'read_vectors', `memory_calls[${t}]`).data,
        );
        await compareState(
          table,
          'state_after',
          hidden.memory[0],
          field(call, 'state_after', `memory_calls[${t}]`),
          `memory_calls[${t}].state_after`,
        );
      }
    } else {
      const result = model.forward(x, hidden, {
        resetExperience,
        readFeedback: options.mode === 'single-call' ? 'initial' : 'previous',
        memoryStepOptions: memoryStepOptions(0),
        deferDebugReadout: true,
      });
      model.disposeHidden(hidden);
      hidden = result.hidden;
      // Time-major, like pytorch-dnc's recorded outputs.
      outputs.push(await readComputed(() => tf.transpose(result.output, [1, 0, 2])));
      result.output.dispose();
      const pending = result.pendingDebug;
      if (pending === undefined) throw new Error('replayDncFixture: the model returned no debug frame');
      let debug: DebugFrame;
      try {
        debug = pending.resolve(await read(pending.values));
      } finally {
        pending.values.dispose();
      }
      compareFrame(table, debug, calls, 0, layers);
      const last = calls[calls.length - 1];
      table.compare(
        'read_vectors',
        await read(hidden.readVectors[layers - 1]),
        tensorField(last, 'read_vectors', 'last memory call').data,
      );
      await compareState(
        table,
        'state_after',
        hidden.memory[0],
        field(last, 'state_after', 'last memory call'),
        'last memory call.state_after',
      );
      if (options.mode === 'single-call') {
        const final = field(record, 'final_controller_state', 'single_call');
        const controller = hidden.controller[layers - 1];
        const stacked = (list: readonly tf.Tensor2D[]) => readComputed(() => tf.stack([...list]));
        table.compare(
          'final_controller_state.h',
          await stacked(controller.hidden),
          tensorField(final, 'h', 'final_controller_state').data,
        );
        if (controller.cell !== undefined)
          table.compare(
            'final_controller_state.c',
            await stacked(controller.cell),
            tensorField(final, 'c', 'final_controller_state').data,
          );
        table.compare(
          'final_read_vectors',
          await read(hidden.readVectors[layers - 1]),
          tensorField(record, 'final_read_vectors', 'single_call').data,
        );
        await compareState(
          table,
          'final_memory_state',
          hidden.memory[0],
          field(record, 'final_memory_state', 'single_call'),
          'single_call.final_memory_state',
        );
        compareDebugDict(table, debug, field(record, 'debug_memory', 'single_call'));
      }
    }
    const expectedOutputs = tensorField(
      record,
      'outputs_time_major',
      options.mode === 'single-call' ? 'single_call' : 'stepwise',
    );
    const joined = new Float32Array(outputs.reduce((n, o) => n + o.length, 0));
    let offset = 0;
    for (const o of outputs) {
      joined.set(o, offset);
      offset += o.length;
    }
    table.compare('outputs', joined, expectedOutputs.data);
  } finally {
    x.dispose();
    model.disposeHidden(hidden);
    model.dispose();
  }
  return { fixture: name, mode: options.mode, steps, injectedCalls, maxAbsError: table.errors };
}

/** pytorch-dnc's `debug=True` dict: lists of T·layers arrays for batch element 0, keyed by pytorch state name. */
function compareDebugDict(table: ErrorTable, frame: DebugFrame, debugMemory: Json): void {
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
