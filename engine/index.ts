/**
 * Public surface of the engine: the DNC (Graves et al. 2016) and its parts on TensorFlow.js — backend choice,
 * the model, its memory kinds, debug frames, pytorch weight loading and fixture parity. Server and CLI code import
 * from here rather than from individual engine files.
 */
export { selectBackend, chooseBackend, parseBackendName, BACKEND_NAMES, type BackendName, type BackendChoice, type BackendLoader } from './backend';
export { DNC, hiddenTensors, type DNCHidden, type ForwardOptions, type ForwardResult, type StateDictEntry } from './dnc';
export { resolveDNCOptions, type DNCOptions, type ResolvedDNCOptions, type ReadFeedback, type MemoryType, type IndexType } from './dnc-options';
export { StackedController, type ControllerConfig, type PreparedController } from './controller/stacked';
export type { ControllerState, RnnType } from './controller/types';
export type { RnnNonlinearity } from './controller/rnn';
export { frameTensor, findTensor, type DebugFrame, type FrameTensor } from './frames';
export { createMemory, type MemoryConfig } from './memory/registry';
export type { MemoryModule, MemoryState, MemoryStepDebug, MemoryStepResult } from './memory/types';
export { parseStateDict, readStateDictFile, loadPytorchWeights, inferDNCOptions, type StateDict } from './weights';
export { replayDncFixture, isDncFixture, DNC_REPLAY_MODES, type DncReplayMode, type DncReplayReport } from './parity/dnc-fixture';
export { replayMemoryFixture, type MemoryFixtureReport } from './parity/memory-fixture';
