/**
 * Host-side structures of the sparse memories (Rae et al. 2016, §3.3–3.6): the LRU list, the row store, the exact
 * and HNSW indices and the sparse temporal links, each with exact undo.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../controller/seeded-random';
import { COSINE_EPSILON } from '../../util/constants';
import { ExactIndex } from './index/exact-index';
import { loadHnswlib } from './index/graph-host';
import { flushBulkBuilds } from './index/ask-ahead';
import { HnswIndex } from './index/hnsw-index';
import { createCellIndex, resolveIndexType } from './index/create-index';
import { rowDots, rowDotsPair } from './index/types';
import { LruList, type LruMove } from './lru-list';
import { RowStore, type RowOverwrite } from './row-store';
import { SparseLinks } from './sparse-links';

function oneHotRow(width: number, hot: number): Float32Array {
  const row = new Float32Array(width);
  row[hot] = 1;
  return row;
}

describe('LruList', () => {
  it('hands out never-used cells in index order, then the least recently touched', () => {
    const lru = new LruList(5);
    assert.equal(lru.leastUsed(), 0);
    const log: LruMove[] = [];
    lru.touch([0, 1], 1, log);
    assert.equal(lru.leastUsed(), 2);
    lru.touch([3, 2, 4], 2, log);
    assert.deepEqual(lru.order(), [0, 1, 2, 3, 4]);
    lru.touch([0], 3, log);
    assert.equal(lru.leastUsed(), 1);
    assert.deepEqual(Array.from(lru.accessTime), [3, 1, 2, 2, 2]);
  });

  it('undoes moves exactly', () => {
    const lru = new LruList(6);
    const first: LruMove[] = [];
    lru.touch([4, 1], 1, first);
    const order = lru.order();
    const times = Array.from(lru.accessTime);
    const second: LruMove[] = [];
    lru.touch([1, 5, 0], 2, second);
    lru.undo(second);
    assert.deepEqual(lru.order(), order);
    assert.deepEqual(Array.from(lru.accessTime), times);
    lru.undo(first);
    assert.deepEqual(lru.order(), [0, 1, 2, 3, 4, 5]);
  });
});

describe('RowStore and ExactIndex', () => {
  it('finds written rows by cosine, fills with zero rows in index order, and forgets restored rows', () => {
    const store = new RowStore(3000, 4);
    const index = new ExactIndex(store);
    const a = store.write(2500, oneHotRow(4, 1), 0);
    store.write(7, Float32Array.from([0, -1, 0, 0]), 0);
    const found = index.search(Float32Array.from([0, 1, 0, 0, 0, -1, 0, 0]), 2, 3);
    assert.deepEqual(Array.from(found), [2500, 0, 1, 7, 0, 1]);
    store.restore(a);
    assert.equal(store.isWritten(2500), false);
    assert.deepEqual(Array.from(index.search(Float32Array.from([0, 1, 0, 0]), 1, 2)), [0, 1]);
  });

  it('ranks like a plain cosine scan through overwrites and restores (cached norms, rows in pairs)', () => {
    const width = 5;
    const store = new RowStore(2100, width);
    const index = new ExactIndex(store);
    const random = new SeededRandom(11);
    const row = () => random.uniform(width, 1);
    const undo: RowOverwrite[] = [];
    for (let i = 0; i < 300; i++) undo.push(store.write(Math.floor(random.next() * 2100), row(), 0));
    for (let i = 0; i < 40; i++) store.restore(undo[undo.length - 1 - i]);
    store.write(3, new Float32Array(width), 0);
    // Both parities of the written-row count (rows are scored in pairs, an odd one alone).
    for (const [queryCount, extraRow] of [
      [1, false],
      [4, false],
      [6, false],
      [6, true],
      [4, true],
    ] as const) {
      if (extraRow) store.write(Math.floor(random.next() * 2100), row(), 0);
      const queries = random.uniform(queryCount * width, 1);
      const expected = Array.from({ length: queryCount }, (_, q) => {
        const query = queries.subarray(q * width, (q + 1) * width);
        const queryNorm = Math.hypot(...query);
        const scored = Array.from({ length: store.memorySize }, (_, cell) => {
          const values = new Float32Array(width);
          store.readInto(cell, values, 0);
          const dot = values.reduce((sum, value, j) => sum + value * query[j], 0);
          return { cell, score: dot / (Math.hypot(...values) * queryNorm + COSINE_EPSILON) };
        });
        scored.sort((a, b) => b.score - a.score || a.cell - b.cell);
        return scored.slice(0, 3).map((entry) => entry.cell);
      });
      assert.deepEqual(Array.from(index.search(queries, queryCount, 3)), expected.flat());
    }
  });
});

describe('HnswIndex', () => {
  const library = loadHnswlib();
  it('answers like exact search when the nearest graph entries are stale (the filtered search as fallback)', {
    skip: library === null,
  }, () => {
    if (library === null) return;
    const width = 8;
    const store = new RowStore(5000, width);
    const index = new HnswIndex(library, store, { flushRows: 1000, seed: 2 });
    const exact = new ExactIndex(store);
    const random = new SeededRandom(5);
    for (let i = 0; i < 300; i++) {
      store.write(i * 13, random.uniform(width, 1), 0);
      index.markDirty(i * 13);
    }
    index.flush();
    const query = random.uniform(width, 1);
    assert.deepEqual(Array.from(index.search(query, 1, 4)), Array.from(exact.search(query, 1, 4)));
    // The graph's twelve nearest rows turn away from the query: a search widened by k finds only stale entries.
    for (const cell of exact.search(query, 1, 12)) {
      store.write(
        cell,
        query.map((value) => -value + random.next() * 0.1),
        0,
      );
      index.markDirty(cell);
    }
    // One written, non-stale row close to the query: dirty rows are scored exactly, beside the graph's answers.
    store.write(4999, query, 0);
    index.markDirty(4999);
    for (const queries of [query, Float32Array.from([...query, ...query.map((value) => -value)])]) {
      const count = queries.length / width;
      assert.deepEqual(Array.from(index.search(queries, count, 4)), Array.from(exact.search(queries, count, 4)));
    }
  });

  it('finds rows written since the last update and after the in-place update', { skip: library === null }, () => {
    if (library === null) return;
    const store = new RowStore(5000, 8);
    const index = new HnswIndex(library, store, { flushRows: 4, seed: 1 });
    const rows = new Map<number, Float32Array>();
    for (let i = 0; i < 40; i++) {
      const cell = (i * 997) % 5000;
      const row = Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 3.1 + j * 1.7));
      rows.set(cell, row);
      store.write(cell, row, 0);
      index.markDirty(cell);
      // Every query is one of the written rows: its own cell must come first, dirty or already in the graph.
      const found = index.search(row, 1, 1);
      assert.equal(found[0], cell, `row ${i} written to cell ${cell}`);
    }
    index.flush();
    for (const [cell, row] of rows) assert.equal(index.search(row, 1, 1)[0], cell);
    // Overwrite in place: the old direction no longer finds it, the new one does.
    const moved = [...rows.keys()][3];
    const negated = rows.get(moved)?.map((v) => -v) ?? new Float32Array(8);
    store.write(moved, negated, 0);
    index.markDirty(moved);
    index.flush();
    assert.equal(index.search(negated, 1, 1)[0], moved);
    // Back to zero (an undone write): deleted from the graph, then found again after a new write.
    const overwrite = store.write(moved, negated, 0);
    store.restore({ cell: moved, previous: null });
    index.markDirty(moved);
    index.flush();
    assert.notEqual(index.search(negated, 1, 1)[0], moved);
    store.write(moved, negated, 0);
    index.markDirty(moved);
    assert.equal(index.search(negated, 1, 1)[0], moved, 'dirty row found before the update');
    index.flush();
    assert.equal(index.search(negated, 1, 1)[0], moved, 'un-deleted row found after the update');
    assert.ok(overwrite.previous);
  });

  it('falls back to exact search with a warning when hnswlib-node does not load', () => {
    const warnings: string[] = [];
    const failing = loadHnswlib(
      () => {
        throw new Error('addon.node: cannot open shared object file');
      },
      (message) => warnings.push(message),
    );
    assert.equal(failing, null);
    assert.match(warnings.join('\n'), /hnswlib-node failed to load.*exact search/);
    const index = createCellIndex('hnsw', new RowStore(10, 2), { flushRows: 4, seed: 0 }, () => null);
    assert.equal(index.kind, 'exact');
    if (library !== null)
      assert.equal(createCellIndex('hnsw', new RowStore(10, 2), { flushRows: 4, seed: 0 }).kind, 'hnsw');
  });

  it('builds several empty graphs in worker threads into the graphs the in-place flush builds', {
    skip: library === null,
  }, () => {
    if (library === null) return;
    const cells = 3000;
    const width = 8;
    const filled = (element: number) => {
      const store = new RowStore(cells, width);
      const index = new HnswIndex(library, store, { flushRows: 256, seed: 5 });
      const row = new Float32Array(width);
      for (let cell = 0; cell < cells; cell++) {
        if (cell % 7 === 3) continue; // never written: must stay out of the graph
        for (let j = 0; j < width; j++) row[j] = Math.sin(cell * 1.7 + j * 0.3 + element);
        store.write(cell, row, 0);
        index.markDirty(cell);
      }
      return index;
    };
    const sequential = [filled(0), filled(1), filled(2)];
    for (const index of sequential) index.flush();
    const parallel = [filled(0), filled(1), filled(2)];
    assert.ok(
      parallel.every((index) => index.bulkBuildJob() !== null),
      'seeded graphs wait for a bulk build',
    );
    flushBulkBuilds(parallel);
    assert.ok(
      parallel.every((index) => index.bulkBuildJob() === null),
      'the bulk builds were adopted',
    );
    const queries = Float32Array.from({ length: 5 * width }, (_, i) => Math.cos(i * 0.9));
    parallel.forEach((index, element) => {
      assert.deepEqual(index.search(queries, 5, 6), sequential[element].search(queries, 5, 6), `element ${element}`);
    });
  });

  it('auto picks exact up to 1e5 cells and hnsw above', () => {
    assert.equal(resolveIndexType('auto', 100_000), 'exact');
    assert.equal(resolveIndexType('auto', 100_001), 'hnsw');
    assert.throws(() => resolveIndexType('kd' as 'exact', 10), /indexType.*kd/);
  });
});

describe('SparseLinks', () => {
  it('links written cells to the previous precedence with a zero diagonal, and undoes exactly', () => {
    const links = new SparseLinks(2, 4);
    links.update([3], [1]);
    assert.equal(links.precedenceOf(3), 1);
    const undo = links.update([5], [0.8]);
    assert.ok(Math.abs(links.link(5, 3) - 0.8) < 1e-6);
    assert.equal(links.link(3, 5), 0);
    assert.equal(links.link(5, 5), 0);
    assert.ok(Math.abs(links.precedenceOf(3) - 0.2) < 1e-6);
    const candidates = links.temporalCandidates([3], [1], 2);
    assert.deepEqual(candidates.forward, [5]);
    links.undo(undo);
    assert.equal(links.link(5, 3), 0);
    assert.equal(links.precedenceOf(3), 1);
  });

  it('keeps rows best-first (ties: lower cell), ≤ K_L long, off the diagonal; undoes a random history exactly', () => {
    const links = new SparseLinks(3, 7);
    let seed = 99;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const snapshot = () =>
      JSON.stringify(
        [links.forward, links.backward].map((rows) =>
          [...rows].sort((a, b) => a[0] - b[0]).map(([cell, row]) => [cell, [...row.cells], [...row.values]]),
        ),
      ) + JSON.stringify([[...links.precedence.cells], [...links.precedence.values]]);
    const history: { before: string; undo: ReturnType<SparseLinks['update']> }[] = [];
    for (let step = 0; step < 60; step++) {
      const cells = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * 20));
      const before = snapshot();
      history.push({
        before,
        undo: links.update(
          cells,
          cells.map(() => next() / cells.length),
        ),
      });
      for (const [map, limit] of [
        [links.forward, 3],
        [links.backward, 3],
      ] as const) {
        for (const [cell, row] of map) {
          assert.ok(row.cells.length > 0 && row.cells.length <= limit, `row ${cell}: ${row.cells.length} entries`);
          assert.ok(!row.cells.includes(cell), `row ${cell} links to itself`);
          for (let n = 1; n < row.cells.length; n++) {
            const [previous, value] = [row.values[n - 1], row.values[n]];
            assert.ok(previous > value || (previous === value && row.cells[n - 1] < row.cells[n]), `row ${cell} order`);
          }
        }
      }
      assert.ok(links.precedence.cells.length <= 7);
    }
    for (const { before, undo } of history.reverse()) {
      links.undo(undo);
      assert.equal(snapshot(), before);
    }
  });

  it('keeps at most K_L entries per row', () => {
    const links = new SparseLinks(2, 8);
    links.update([0, 1, 2], [0.3, 0.3, 0.3]);
    links.update([7], [1]);
    assert.ok((links.forward.get(7)?.cells.length ?? 0) <= 2);
  });
});

describe('rowDots and rowDotsPair', () => {
  it('score two rows at once to the very bits of two single-row calls, for any query count', () => {
    const random = new SeededRandom(17);
    const width = 7;
    const page = Float32Array.from({ length: 5 * width }, () => random.next() * 2 - 1);
    const otherPage = Float32Array.from({ length: 3 * width }, () => random.next() * 2 - 1);
    for (const queryCount of [1, 3, 4, 5, 9]) {
      const queries = Float32Array.from({ length: queryCount * width }, () => random.next() * 2 - 1);
      const single = new Float64Array(queryCount);
      const otherSingle = new Float64Array(queryCount);
      rowDots(page, 2 * width, queries, queryCount, width, single);
      rowDots(otherPage, width, queries, queryCount, width, otherSingle);
      const paired = new Float64Array(queryCount);
      const otherPaired = new Float64Array(queryCount);
      rowDotsPair(page, 2 * width, otherPage, width, queries, queryCount, width, paired, otherPaired);
      assert.deepEqual(paired, single, `first row, ${queryCount} queries`);
      assert.deepEqual(otherPaired, otherSingle, `second row, ${queryCount} queries`);
      // And what the sums are: one loop per query, in index order.
      for (let q = 0; q < queryCount; q++) {
        let dot = 0;
        for (let j = 0; j < width; j++) dot += page[2 * width + j] * queries[q * width + j];
        assert.equal(single[q], dot, `query ${q}`);
      }
    }
  });
});
