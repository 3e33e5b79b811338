/**
 * A graph worker thread (`graph-host.ts`): holds the HNSW graphs it is given by id and runs the requests for them
 * in the order they were posted, with the same `graph-ops.ts` functions a graph in the calling thread runs. Only
 * searches are answered, on the reply port, each reply counted in the shared control array so that the waiting
 * thread wakes. An op that throws breaks its graph: the next search of that graph answers with the error, and the
 * index rebuilds the graph in its own thread.
 */
import { createRequire } from 'node:module';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type * as Hnswlib from 'hnswlib-node';
import { type GraphReply, type GraphRequest, REPLY_COUNT_SLOT } from './graph-host';
import { buildGraph, createGraph, searchGraph, updateGraph } from './graph-ops';

const { port, control, hnswlibPath } = workerData as { port: MessagePort; control: Int32Array; hnswlibPath: string };
const library = createRequire(import.meta.url)(hnswlibPath) as typeof Hnswlib;

/** Each graph by id, or the error that broke it. */
const graphs = new Map<number, Hnswlib.HierarchicalNSW | Error>();

function reply(message: GraphReply): void {
  port.postMessage(message);
  Atomics.add(control, REPLY_COUNT_SLOT, 1);
  Atomics.notify(control, REPLY_COUNT_SLOT);
}

function graphOf(id: number): Hnswlib.HierarchicalNSW {
  const graph = graphs.get(id);
  if (graph === undefined) throw new Error(`graph ${id} does not exist`);
  if (graph instanceof Error) throw graph;
  return graph;
}

function handle(request: GraphRequest): void {
  switch (request.op) {
    case 'reset':
      graphs.set(request.id, createGraph(library, request.shape));
      return;
    case 'build':
      graphs.set(request.id, buildGraph(library, request.build));
      return;
    case 'update':
      updateGraph(graphOf(request.id), request.update);
      return;
    case 'drop':
      graphs.delete(request.id);
      return;
    case 'search':
      reply({ ticket: request.ticket, ok: true, answer: searchGraph(graphOf(request.id), request.search) });
      return;
  }
}

parentPort?.on('message', (request: GraphRequest) => {
  try {
    handle(request);
  } catch (error) {
    const broken = error instanceof Error ? error : new Error(String(error));
    graphs.set(request.id, broken);
    if (request.op === 'search') reply({ ticket: request.ticket, ok: false, error: broken.message });
  }
});
