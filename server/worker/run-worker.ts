/**
 * One training run in its own worker thread (loaded through run-worker.mjs): the training loop over the engine's
 * trainer.
 */
import { openTrainer } from './trainer-source';
import { runTrainingWorker } from './training-loop';

runTrainingWorker(openTrainer);
