// Bootstrap for a graph worker thread (`graph-host.ts`): worker threads on Node 20 cannot load .ts files by
// themselves, so this registers tsx's loader in the worker and then imports the TypeScript worker. A start that
// fails is flagged in the shared control array, so a thread blocked waiting for an answer wakes and rebuilds there.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// The slots of graph-host.ts's REPLY_COUNT_SLOT and START_FAILED_SLOT (this file runs before TypeScript can load).
const REPLY_COUNT_SLOT = 0;
const START_FAILED_SLOT = 1;

try {
  register();
  await import('./graph-worker.ts');
} catch (error) {
  Atomics.store(workerData.control, START_FAILED_SLOT, 1);
  Atomics.add(workerData.control, REPLY_COUNT_SLOT, 1);
  Atomics.notify(workerData.control, REPLY_COUNT_SLOT);
  throw error;
}
