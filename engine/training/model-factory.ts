/**
 * Builds the DNC (Graves et al. 2016) a training run trains, from the run's flags: pytorch-dnc's task-script
 * mapping of `nhid`, `nlayer`, `nhlayer`, `mem_slot` (N), `mem_size` (W), `read_heads` (R) and the memory kind
 * onto the model's constructor options.
 */
import { DNC } from '../dnc';
import type { Task } from '../tasks/index';
import { ConfigError, type TrainConfig } from './types';

/** The run's model; `debug` builds the twin that records debug frames. Seeded by `config.seed`. */
export function buildModel(config: TrainConfig, task: Task, debug: boolean): DNC {
  try {
    return new DNC({
      inputSize: task.inputSize,
      outputSize: task.outputSize,
      hiddenSize: config.nhid,
      rnnType: config.rnn_type,
      numLayers: config.nlayer,
      numHiddenLayers: config.nhlayer,
      dropout: config.dropout,
      nrCells: config.mem_slot,
      cellSize: config.mem_size,
      readHeads: config.read_heads,
      // pytorch-dnc's task scripts build the dense DNC with independent linears and the sparse ones without.
      independentLinears: config.memory_type === 'dnc',
      memoryType: config.memory_type,
      sparseReads: config.sparse_reads,
      temporalReads: config.temporal_reads,
      batchFirst: true,
      seed: config.seed,
      debug,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The memory registry says so when a kind is not registered yet; other construction errors pass through.
    if (config.memory_type !== 'dnc' && /not available|unknown memory type/.test(message)) {
      throw new ConfigError(
        'memory_type',
        `'${config.memory_type}' is not available in this build: the sparse memories (SAM, SDNC) come with their own ` +
          `issue (${message})`,
      );
    }
    throw error;
  }
}
