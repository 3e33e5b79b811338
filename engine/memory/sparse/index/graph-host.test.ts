/**
 * HNSW graphs in graph worker threads (`graph-host.ts`): they answer as a graph in the calling thread does, a
 * search asked ahead is thrown away when the rows change before it is collected, and a graph whose thread stops
 * is rebuilt in the calling thread without losing a row.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SeededRandom } from '../../../controller/seeded-random';
import { RowStore } from '../row-store';
import { ExactIndex } from './exact-index';
import { graphThreadCount, loadHnswlib, setGraphLibraryPath, setGraphThreads, stopGraphThreads } from './graph-host';
import { HnswIndex } from './hnsw-index';

const library = loadHnswlib();
const WIDTH = 8;
const CELLS = 4000;

/** An index whose graph lives in `threads` worker threads (0: this thread), over its own row store. */
function indexWith(threads: number, flushRows: number): { store: RowStore; index: HnswIndex } {
  if (library === null) throw new Error('hnswlib-node is required here');
  setGraphThreads(threads);
  try {
    const store = new RowStore(CELLS, WIDTH);
    return { store, index: new HnswIndex(library, store, { flushRows, seed: 3 }) };
  } finally {
    setGraphThreads(null);
  }
}

function write(target: { store: RowStore; index: HnswIndex }, cell: number, row: Float32Array): void {
  target.store.write(cell, row, 0);
  target.index.markDirty(cell);
}

describe('HNSW graphs in worker threads', { skip: library === null }, () => {
  afterEach(() => setGraphThreads(null));

  it('answer like a graph in this thread through writes, in-place updates and searches asked ahead', () => {
    const here = indexWith(0, 64);
    const there = indexWith(2, 64);
    const random = new SeededRandom(11);
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 150; i++) {
        const cell = Math.floor(random.next() * CELLS);
        const row = random.uniform(WIDTH, 1);
        write(here, cell, row);
        write(there, cell, row);
      }
      const queries = random.uniform(3 * WIDTH, 1);
      if (round % 2 === 0) there.index.ask(queries, 3, 5);
      assert.deepEqual(there.index.search(queries, 3, 5), here.index.search(queries, 3, 5), `round ${round}`);
    }
    here.index.dispose();
    there.index.dispose();
  });

  it('throw away a search asked ahead when a row changes before it is collected', () => {
    for (const threads of [0, 2]) {
      const target = indexWith(threads, 1);
      const exact = new ExactIndex(target.store);
      const random = new SeededRandom(4);
      for (let cell = 0; cell < 300; cell++) write(target, cell, random.uniform(WIDTH, 1));
      target.index.flush();
      const query = random.uniform(WIDTH, 1);
      const [nearest] = exact.search(query, 1, 1);
      target.index.ask(query, 1, 1);
      // The graph's one answer turns away from the query: the second nearest row is now the answer.
      write(
        target,
        nearest,
        query.map((value) => -value),
      );
      const [second] = exact.search(query, 1, 1);
      assert.notEqual(second, nearest);
      assert.deepEqual(Array.from(target.index.search(query, 1, 1)), [second], `${threads} threads`);
      target.index.dispose();
    }
  });

  it('rebuild a graph in this thread when its worker stops, losing no row', async () => {
    const target = indexWith(2, 16);
    const exact = new ExactIndex(target.store);
    const random = new SeededRandom(9);
    for (let cell = 0; cell < 500; cell++) write(target, cell * 7, random.uniform(WIDTH, 1));
    const queries = random.uniform(4 * WIDTH, 1);
    assert.deepEqual(target.index.search(queries, 4, 3), exact.search(queries, 4, 3));
    await stopGraphThreads();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      assert.deepEqual(target.index.search(queries, 4, 3), exact.search(queries, 4, 3));
    } finally {
      console.warn = warn;
    }
    assert.match(warnings.join('\n'), /graph thread.*rebuilt in the calling thread/);
    write(target, 3, queries.subarray(0, WIDTH));
    target.index.flush();
    assert.equal(target.index.search(queries, 1, 1)[0], 3, 'the rebuilt graph takes new rows');
    target.index.dispose();
  });

  it('wake a waiting search when a thread cannot start, and rebuild its graph here', async () => {
    await stopGraphThreads();
    setGraphLibraryPath('./no-such-hnswlib-build.node');
    let target: { store: RowStore; index: HnswIndex };
    try {
      target = indexWith(2, 16);
    } finally {
      setGraphLibraryPath(null);
    }
    const exact = new ExactIndex(target.store);
    const random = new SeededRandom(6);
    for (let cell = 0; cell < 200; cell++) write(target, cell, random.uniform(WIDTH, 1));
    const queries = random.uniform(2 * WIDTH, 1);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    const started = Date.now();
    try {
      assert.deepEqual(target.index.search(queries, 2, 3), exact.search(queries, 2, 3));
    } finally {
      console.warn = warn;
    }
    assert.ok(Date.now() - started < 30_000, 'answered without waiting for a timeout');
    assert.match(warnings.join('\n'), /failed to start.*rebuilt in the calling thread/);
    target.index.dispose();
    await stopGraphThreads();
  });

  it('read their count from ENGRAM_HNSW_THREADS and name a bad value', () => {
    const saved = process.env.ENGRAM_HNSW_THREADS;
    try {
      process.env.ENGRAM_HNSW_THREADS = '3';
      assert.equal(graphThreadCount(), 3);
      process.env.ENGRAM_HNSW_THREADS = '0';
      assert.equal(graphThreadCount(), 0);
      process.env.ENGRAM_HNSW_THREADS = 'two';
      assert.throws(() => graphThreadCount(), /ENGRAM_HNSW_THREADS.*'two'/);
      setGraphThreads(1);
      assert.equal(graphThreadCount(), 1, 'the override wins');
    } finally {
      if (saved === undefined) delete process.env.ENGRAM_HNSW_THREADS;
      else process.env.ENGRAM_HNSW_THREADS = saved;
    }
  });
});
