/**
 * Debug frames of a DNC forward call: what the memory (paper, "Methods": memory matrix, temporal link matrix,
 * precedence, read/write weightings, usage) and the controller's interface to it did at every timestep, for
 * batch element 0. The recorder collects the per-step tensors without reading them, stacks each over time, and
 * reads everything out in ONE host transfer per call — per-step `dataSync` would stall the pipeline T·layers times.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedDNCOptions } from './dnc-options';
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
   * tidy scope: the intermediate tensors are released with it. Backends without a synchronous readback (webgpu in
   * Node) use `pack` and `PendingDebugFrame.resolve` instead.
   */
  readOut(timesteps: number): DebugFrame {
    const pending = this.pack(timesteps);
    return pending.resolve(pending.values.dataSync() as Float32Array);
  }

  /**
   * Stack every series over time into ONE flat tensor, without reading it: the caller reads it (asynchronously,
   * possibly concatenated with more values) and builds the frame with `resolve`. The tensor belongs to the caller's
   * scope like any other op result.
   */
  pack(timesteps: number): PendingDebugFrame {
    const entries = [...this.series.values()];
    const stacked = entries.map((entry) => entry.stacked ?? tf.stack(entry.steps));
    stacked.forEach((tensor, i) => {
      if (tensor.shape[0] !== timesteps) {
        throw new Error(
          `DebugRecorder: series '${entries[i].name}' (layer ${entries[i].layer}) has ${tensor.shape[0]} timesteps, ` +
            `expected ${timesteps}`,
        );
      }
    });
    const values =
      stacked.length === 0
        ? (tf.zeros([0]) as tf.Tensor1D)
        : (tf.concat(stacked.map((t) => tf.reshape(t, [-1]))) as tf.Tensor1D);
    const layout = entries.map((entry, i) => ({ entry, shape: stacked[i].shape, size: stacked[i].size }));
    return {
      values,
      resolve(data: Float32Array): DebugFrame {
        if (data.length !== values.size) {
          throw new Error(`DebugRecorder: resolve got ${data.length} values, the packed frame has ${values.size}`);
        }
        const tensors: FrameTensor[] = [];
        let offset = 0;
        for (const { entry, shape, size } of layout) {
          // slice() copies, so each frame tensor owns a compact buffer the server can transfer on its own.
          tensors.push(
            frameTensor(entry.name, shape, ['time', ...entry.axes], data.slice(offset, offset + size), {
              layer: entry.layer,
              range: entry.range,
              description: entry.description,
            }),
          );
          offset += size;
        }
        return { timesteps, tensors };
      },
    };
  }
}

/** A debug frame still on the device: every series flattened into `values`, turned into a frame by `resolve`. */
export interface PendingDebugFrame {
  /** `[total]` float32: the series one after another, each `[time, …]` row-major. */
  readonly values: tf.Tensor1D;
  /** Build the frame from `values`' data (read by the caller). */
  resolve(data: Float32Array): DebugFrame;
}

/**
 * Record the controller's side of one forward call for every layer: ξ and, where the memory recorded none, r, for
 * batch element 0 over time (`DNC.forward`'s debug series).
 * @param perLayerXi per layer, ξ_t `[batch, hiddenSize]` for each timestep
 * @param perLayerReads per layer, r_t `[batch, readHeads·cellSize]` for each timestep
 */
export function recordControllerSeries(
  recorder: DebugRecorder,
  perLayerXi: readonly tf.Tensor2D[][],
  perLayerReads: readonly tf.Tensor2D[][],
  o: ResolvedDNCOptions,
  timesteps: number,
): void {
  const readSize = o.readHeads * o.cellSize;
  for (let layer = 0; layer < o.numLayers; layer++) {
    // Batch element 0 of ξ and r over time; the tensors already exist, so this costs two ops per layer.
    const xiSeries = tf.squeeze(tf.slice(tf.stack(perLayerXi[layer]), [0, 0, 0], [timesteps, 1, o.hiddenSize]), [1]);
    recorder.recordSequence('controllerOutput', layer, xiSeries, ['unit'], {
      range: o.clip > 0 ? [-o.clip, o.clip] : undefined,
      description: 'ξ: clipped controller output fed to the memory interface',
    });
    if (!recorder.has('readVectors', layer)) {
      const readSeries = tf.reshape(tf.slice(tf.stack(perLayerReads[layer]), [0, 0, 0], [timesteps, 1, readSize]), [
        timesteps,
        o.readHeads,
        o.cellSize,
      ]);
      recorder.recordSequence('readVectors', layer, readSeries, ['head', 'word'], {
        description: 'r: vectors read from memory',
      });
    }
  }
}
