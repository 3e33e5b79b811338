/**
 * Where an HNSW graph lives. A sparse memory keeps one graph per batch element; its searches are the part of a
 * step that grows with N (at 64k rows, cache misses make each search ≈3× dearer than at 1k), and the graphs of
 * different elements share nothing. So by default every graph lives in one of a few graph worker threads
 * (`graph-worker.ts`), spread round-robin: a step first asks every element's graph (`ask`), the workers search at
 * once, and each element then collects its answer (`answer`). Builds and updates are posted and run in order on
 * the graph's thread; a seeded memory's graphs are built there, in parallel, and stay there.
 *
 * `ENGRAM_HNSW_THREADS` sets the number of graph threads; 0 keeps every graph in the calling thread
 * (`LocalGraph`), as does a machine with one core. Both run the same `graph-ops.ts` functions. `loadHnswlib` loads
 * hnswlib-node in the calling thread (the graph threads load the same module).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type * as Hnswlib from 'hnswlib-node';
import {
  buildGraph,
  createGraph,
  type GraphAnswer,
  type GraphBuild,
  type GraphSearch,
  type GraphShape,
  type GraphUpdate,
  searchGraph,
  updateGraph,
} from './graph-ops';

let loaded: typeof Hnswlib | null | undefined;

/**
 * hnswlib-node through `load` (Node's require by default), or null with a warning when its native addon does
 * not load on this machine. The default is loaded once per process.
 */
export function loadHnswlib(
  load?: () => typeof Hnswlib,
  warn: (message: string) => void = console.warn,
): typeof Hnswlib | null {
  if (load === undefined && loaded !== undefined) return loaded;
  let library: typeof Hnswlib | null;
  try {
    library = load === undefined ? (createRequire(import.meta.url)('hnswlib-node') as typeof Hnswlib) : load();
  } catch (error) {
    warn(`[engram] hnswlib-node failed to load (${String(error)}); sparse memories fall back to exact search`);
    library = null;
  }
  if (load === undefined) loaded = library;
  return library;
}

/** One graph, here or in another thread. `ask` starts a search; `answer` returns it (one outstanding at a time). */
export interface GraphHost {
  /** Replace the graph with `build`'s rows. */
  build(build: GraphBuild): void;
  /** Replace the graph with an empty one. */
  reset(shape: GraphShape): void;
  update(update: GraphUpdate): void;
  ask(search: GraphSearch): void;
  /** The answer to the last `ask`; throws `GraphThreadError` when the graph's thread failed it. */
  answer(): GraphAnswer;
  dispose(): void;
}

/** The graph's thread failed or stopped answering: the graph is gone, and its index must rebuild it here. */
export class GraphThreadError extends Error {}

/** A graph in the calling thread. */
export class LocalGraph implements GraphHost {
  private graph: Hnswlib.HierarchicalNSW;
  private pending: GraphAnswer | null = null;

  constructor(
    private readonly library: typeof Hnswlib,
    shape: GraphShape,
  ) {
    this.graph = createGraph(library, shape);
  }

  build(build: GraphBuild): void {
    this.graph = buildGraph(this.library, build);
  }

  reset(shape: GraphShape): void {
    this.graph = createGraph(this.library, shape);
  }

  update(update: GraphUpdate): void {
    updateGraph(this.graph, update);
  }

  ask(search: GraphSearch): void {
    this.pending = searchGraph(this.graph, search);
  }

  answer(): GraphAnswer {
    const answer = this.pending;
    if (answer === null) throw new Error('LocalGraph.answer: no search was asked');
    this.pending = null;
    return answer;
  }

  dispose(): void {
    this.pending = null;
  }
}

/** Messages to a graph worker; only `search` is answered. */
export type GraphRequest =
  | { readonly op: 'build'; readonly id: number; readonly build: GraphBuild }
  | { readonly op: 'reset'; readonly id: number; readonly shape: GraphShape }
  | { readonly op: 'update'; readonly id: number; readonly update: GraphUpdate }
  | { readonly op: 'search'; readonly id: number; readonly ticket: number; readonly search: GraphSearch }
  | { readonly op: 'drop'; readonly id: number };

/** A worker's answer to `search` `ticket`, or the error that broke the graph (this search or an earlier op). */
export type GraphReply =
  | { readonly ticket: number; readonly ok: true; readonly answer: GraphAnswer }
  | { readonly ticket: number; readonly ok: false; readonly error: string };

/** The worker counts its replies in slot 0 of this shared array (the waiting thread sleeps on it). */
export const REPLY_COUNT_SLOT = 0;
/**
 * Set to 1 by a worker that could not start (its loader or hnswlib-node failed), with slot 0 bumped to wake a waiting
 * thread: while that thread blocks, the worker's 'error' event cannot reach it.
 */
export const START_FAILED_SLOT = 1;

/** How long a search may wait for its graph's thread: the builds queued before it (a large seeded memory) count. */
const ANSWER_TIMEOUT_MS = 600_000;

interface GraphThread {
  readonly worker: Worker;
  readonly replies: MessagePort;
  readonly control: Int32Array;
  /** Replies received for tickets not yet collected. */
  readonly stash: Map<number, GraphReply>;
  failure: string | null;
}

let threads: GraphThread[] | null = null;
let threadsOverride: number | null = null;
let libraryPathOverride: string | null = null;
let nextGraphId = 0;
let nextTicket = 0;

/** Graph threads to use: `ENGRAM_HNSW_THREADS`, else one per core up to 8 (none on a one-core machine). */
export function graphThreadCount(): number {
  if (threadsOverride !== null) return threadsOverride;
  const raw = process.env.ENGRAM_HNSW_THREADS;
  if (raw === undefined || raw === '') {
    const cores = availableParallelism();
    return cores >= 2 ? Math.min(cores, 8) : 0;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`ENGRAM_HNSW_THREADS must be a whole number ≥ 0, got '${raw}'`);
  }
  return value;
}

/** Tests and benchmarks: force the graph thread count for graphs made from now on (`null`: the environment's). */
export function setGraphThreads(count: number | null): void {
  if (count !== null && (!Number.isInteger(count) || count < 0)) {
    throw new Error(`setGraphThreads: count must be a whole number ≥ 0 or null, got ${count}`);
  }
  threadsOverride = count;
}

/** Tests: the hnswlib-node module that threads started from now on load (`null`: the installed one). */
export function setGraphLibraryPath(path: string | null): void {
  libraryPathOverride = path;
}

function startThread(): GraphThread {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const hnswlibPath = libraryPathOverride ?? createRequire(import.meta.url).resolve('hnswlib-node');
  const worker = new Worker(join(__dirname, 'graph-worker.mjs'), {
    workerData: { port: port2, control, hnswlibPath },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  const thread: GraphThread = { worker, replies: port1, control, stash: new Map(), failure: null };
  worker.on('error', (error) => {
    thread.failure ??= error.message;
  });
  worker.on('exit', (code) => {
    thread.failure ??= `exit ${code}`;
  });
  return thread;
}

/** A graph in a worker thread, or null when graphs stay in the calling thread. */
export function workerGraph(shape: GraphShape): WorkerGraph | null {
  const count = graphThreadCount();
  if (count === 0) return null;
  threads ??= [];
  const id = nextGraphId++;
  // Threads start as graphs need them: a batch of 2 on a 16-core machine starts 2.
  const slot = id % count;
  while (threads.length <= slot) threads.push(startThread());
  return new WorkerGraph(threads[slot], id, shape);
}

/** Stop every graph thread (tests); graphs made afterwards start new ones, and graphs on the old ones fail over. */
export async function stopGraphThreads(): Promise<void> {
  const stopping = threads ?? [];
  threads = null;
  for (const thread of stopping) thread.failure ??= 'stopped';
  await Promise.all(stopping.map((thread) => thread.worker.terminate()));
}

/** A graph in a worker thread (see the file comment). */
export class WorkerGraph implements GraphHost {
  private ticket: number | null = null;

  constructor(
    private readonly thread: GraphThread,
    private readonly id: number,
    shape: GraphShape,
  ) {
    this.post({ op: 'reset', id, shape });
  }

  build(build: GraphBuild): void {
    this.post({ op: 'build', id: this.id, build });
  }

  reset(shape: GraphShape): void {
    this.post({ op: 'reset', id: this.id, shape });
  }

  update(update: GraphUpdate): void {
    this.post({ op: 'update', id: this.id, update });
  }

  ask(search: GraphSearch): void {
    this.ticket = nextTicket++;
    this.post({ op: 'search', id: this.id, ticket: this.ticket, search });
  }

  answer(): GraphAnswer {
    const ticket = this.ticket;
    if (ticket === null) throw new Error('WorkerGraph.answer: no search was asked');
    this.ticket = null;
    const reply = awaitReply(this.thread, ticket);
    if (!reply.ok) throw new GraphThreadError(`graph thread: ${reply.error}`);
    return reply.answer;
  }

  dispose(): void {
    if (this.thread.failure === null) this.post({ op: 'drop', id: this.id });
  }

  private post(request: GraphRequest): void {
    if (this.thread.failure !== null) return; // answer() reports it
    this.thread.worker.postMessage(request);
  }
}

/** Block until the reply for `ticket` arrives (other tickets' replies are kept for their askers). */
function awaitReply(thread: GraphThread, ticket: number): GraphReply {
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  for (;;) {
    const kept = thread.stash.get(ticket);
    if (kept !== undefined) {
      thread.stash.delete(ticket);
      return kept;
    }
    if (Atomics.load(thread.control, START_FAILED_SLOT) === 1) thread.failure ??= 'the graph thread failed to start';
    if (thread.failure !== null) return { ticket, ok: false, error: thread.failure };
    const seen = Atomics.load(thread.control, REPLY_COUNT_SLOT);
    const message = receiveMessageOnPort(thread.replies);
    if (message !== undefined) {
      const reply = message.message as GraphReply;
      thread.stash.set(reply.ticket, reply);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      thread.failure = `no answer in ${ANSWER_TIMEOUT_MS / 1000} s`;
      continue;
    }
    Atomics.wait(thread.control, REPLY_COUNT_SLOT, seen, left);
  }
}
