/**
 * Reading a pytorch-dnc `DNC` fixture (format in `fixtures/pytorch-dnc/README.md`) for `replayDncFixture`: typed
 * access to its JSON fields by name, and the model and starting hidden state it records, as engine objects.
 */
import * as tf from '@tensorflow/tfjs';
import { DNC } from '../dnc';
import type { DNCHidden } from '../dnc-hidden';
import type { ControllerState } from '../controller/types';
import { parseStateDict } from '../weights';

export interface FixtureTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export type Json = unknown;

/** pytorch-dnc memory state names → the engine's. */
export const STATE_NAMES: Readonly<Record<string, string>> = {
  memory: 'memory',
  link_matrix: 'linkMatrix',
  precedence: 'precedence',
  read_weights: 'readWeights',
  write_weights: 'writeWeights',
  usage_vector: 'usage',
};

export function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(value: Json, name: string, where: string): Json {
  if (!isRecord(value) || !(name in value)) throw new Error(`replayDncFixture: ${where} has no field '${name}'`);
  return value[name];
}

export function asTensor(value: Json, where: string): FixtureTensor {
  const shape = field(value, 'shape', where);
  const data = field(value, 'data', where);
  const numbers = (v: Json): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
  if (!numbers(shape) || !numbers(data))
    throw new Error(`replayDncFixture: ${where} must be {shape: number[], data: number[]}`);
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new Error(`replayDncFixture: ${where} has ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape, data };
}

export function tensorField(value: Json, name: string, where: string): FixtureTensor {
  return asTensor(field(value, name, where), `${where}.${name}`);
}

function configNumber(config: Json, name: string): number {
  const value = field(config, name, 'config');
  if (typeof value !== 'number')
    throw new Error(`replayDncFixture: config.${name} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

export function configBoolean(config: Json, name: string, fallback: boolean): boolean {
  if (!isRecord(config) || !(name in config)) return fallback;
  const value = config[name];
  if (typeof value !== 'boolean')
    throw new Error(`replayDncFixture: config.${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
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
export function initialHidden(json: Json, model: DNC, batchSize: number): DNCHidden {
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
