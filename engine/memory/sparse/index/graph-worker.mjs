// Bootstrap for a graph worker thread (`graph-host.ts`): worker threads on Node 20 cannot load .ts files by
// themselves, so this registers tsx's loader in the worker and then imports the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./graph-worker.ts');
