/**
 * Debug frames of a DNC forward call: what the memory (paper, "Methods": memory matrix, temporal link matrix,
 * precedence, read/write weightings, usage) and the controller's interface to it did at every timestep, for
 * batch element 0. The recorder collects the per-step tensors without reading them, stacks each over time, and
 * reads everything out in ONE host transfer per call — per-step `dataSync` would stall the pipeline T·layers times.
 */
import * as tf from '@tensorflow/tfjs';
import { frameTensor, type DebugFrame, type FrameTensor } from './frames';
import type { MemoryStepDebug } from './memory/types';

interface Series {
  readonly name: string;
  readonly layer: number;
  /** Axis labels without the time axis. */
  readonly axes: readonly string[];
  readonly range?: readonly [number, number];
  readonly description?: string;
  /** One tensor per timestep, same shape; or one already stacked `[time, …]` tensor. */
  readonly steps: tf.Tensor[];
  readonly stacked?: tf.Tensor;
}

/** Collects debug tensors during one forward call. Create one only when debug output was asked for. */
export class DebugRecorder {
  private readonly series = new Map<string, Series>();

  /** Add one memory step's debug tensors (batch element 0, no time axis) for `layer`. */
  recordMemoryStep(layer: number, debug: MemoryStepDebug): void {
    for (const [name, tensor] of Object.entries(debug.tensors)) {
      const key = `${layer}:${name}`;
      let entry = this.series.get(key);
      if (entry === undefined) {
        const axes = debug.axes[name];
        if (axes === undefined) throw new Error(`DebugRecorder: memory debug tensor '${name}' has no axis labels`);
        entry = { name, layer, axes, range: debug.ranges?.[name], steps: [] };
        this.series.set(key, entry);
      }
      entry.steps.push(tensor);
    }
  }

  /** Whether a memory step already provided `name` for `layer` (the wrapper then skips its own copy). */
  has(name: string, layer: number): boolean {
    return this.series.has(`${layer}:${name}`);
  }

  /** Add a tensor that already has the time axis first, e.g. ξ for batch element 0 `[time, hidden]`. */
  recordSequence(
    name: string,
    layer: number,
    stacked: tf.Tensor,
    axes: readonly string[],
    extra: { range?: readonly [number, number]; description?: string } = {},
  ): void {
    this.series.set(`${layer}:${name}`, { name, layer, axes, steps: [], stacked, ...extra });
  }

  /**
   * Stack every series over time and read all of them out with a single `dataSync`. Call inside the forward's
   * tidy scope: the intermediate tensors are released with it.
   */
  readOut(timesteps: number): DebugFrame {
    const entries = [...this.series.values()];
    if (entries.length === 0) return { timesteps, tensors: [] };
    const stacked = entries.map((entry) => entry.stacked ?? tf.stack(entry.steps));
    const flat = tf.concat(stacked.map((t) => tf.reshape(t, [-1])));
    const data = flat.dataSync() as Float32Array;
    const tensors: FrameTensor[] = [];
    let offset = 0;
    entries.forEach((entry, i) => {
      const shape = stacked[i].shape;
      const size = stacked[i].size;
      if (shape[0] !== timesteps) {
        throw new Error(
          `DebugRecorder: series '${entry.name}' (layer ${entry.layer}) has ${shape[0]} timesteps, expected ` +
            `${timesteps}`,
        );
      }
      // slice() copies, so each frame tensor owns a compact buffer the server can transfer on its own.
      tensors.push(
        frameTensor(entry.name, shape, ['time', ...entry.axes], data.slice(offset, offset + size), {
          layer: entry.layer,
          range: entry.range,
          description: entry.description,
        }),
      );
      offset += size;
    });
    return { timesteps, tensors };
  }
}
