// Test-only bootstrap of a hooked training worker (server/testing/hooked-training.ts): worker threads on Node 20
// cannot load .ts files by themselves, so this registers tsx's loader in the worker and then imports the worker.
import { register } from 'tsx/esm/api';

register();
await import('./hooked-worker.ts');
