/**
 * Public surface of the engine: the DNC (Graves et al. 2016) and its parts on TensorFlow.js — backend choice,
 * the model, its memory kinds, debug frames, pytorch weight loading and fixture parity. Server and CLI code import
 * from here rather than from individual engine files.
 */
export {
  selectBackend,
  releaseBackend,
  chooseBackend,
  parseBackendName,
  BACKEND_NAMES,
  type BackendName,
  type BackendChoice,
  type BackendLoader,
} from './backend';
export { DNC, type ForwardOptions, type ForwardResult } from './dnc';
export { hiddenTensors, type DNCHidden } from './dnc-hidden';
export type { StateDictEntry } from './dnc-state-dict';
export {
  resolveDNCOptions,
  type DNCOptions,
  type ResolvedDNCOptions,
  type ReadFeedback,
  type MemoryType,
  type IndexType,
} from './dnc-options';
export { StackedController, type ControllerConfig, type PreparedController } from './controller/stacked';
export type { ControllerState, RnnType } from './controller/types';
export type { RnnNonlinearity } from './controller/rnn';
export { frameTensor, findTensor, type DebugFrame, type FrameTensor } from './frames';
export { createMemory, type MemoryConfig } from './memory/registry';
export type { MemoryModule, MemoryState, MemoryStepDebug, MemoryStepResult } from './memory/types';
export { parseStateDict, readStateDictFile, loadPytorchWeights, inferDNCOptions, type StateDict } from './weights';
export {
  replayDncFixture,
  isDncFixture,
  DNC_REPLAY_MODES,
  type DncReplayMode,
  type DncReplayReport,
} from './parity/dnc-fixture';
export { replayMemoryFixture, type MemoryFixtureReport } from './parity/memory-fixture';
// Training: tasks, config, optimizers, the loop and its checkpoints (engine/training/README.md has the format).
export {
  createTrainer,
  restoreTrainer,
  RESUME_OVERRIDABLE,
  type TrainerSession,
  type TrainerOptions,
} from './training/trainer';
export { resolveTrainConfig, sequenceLengthAt, TRAIN_FIELDS, type FieldSpec } from './training/config';
export {
  ConfigError,
  NonFiniteError,
  type TrainConfig,
  type IterationResult,
  type Trainer,
  type TaskName,
  type OptimizerName,
  type MemoryTypeName,
  type RnnTypeName,
} from './training/types';
export {
  encodeCheckpoint,
  decodeCheckpoint,
  CheckpointError,
  CHECKPOINT_VERSION,
  type CheckpointContents,
} from './training/checkpoint-format';
export { saveCheckpointFile, loadCheckpointFile } from './training/checkpoint-file';
export { Optimizer, clipByGlobalNorm, OPTIMIZER_DEFAULTS, type OptimizerSnapshot } from './training/optimizers';
export { Rng, type RngState } from './training/rng';
export { createTask, TASK_NAMES, type Task, type TaskBatch, type TaskConfig } from './tasks/index';
