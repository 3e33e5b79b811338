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
import type { DebugFrame } from '../frames';
import { compareDebugDict, compareFrame, compareState, ErrorTable, read, readComputed } from './dnc-fixture-compare';
import {
  configBoolean,
  field,
  initialHidden,
  isRecord,
  type Json,
  modelFromFixture,
  tensorField,
} from './dnc-fixture-load';

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

/** True when `json` has the fields of a DNC fixture (as opposed to a memory fixture). */
export function isDncFixture(json: Json): boolean {
  return isRecord(json) && 'inputs_x' in json && 'params' in json && ('stepwise' in json || 'single_call' in json);
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
