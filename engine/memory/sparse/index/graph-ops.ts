/**
 * What is done to one HNSW graph (hnswlib-node's `HierarchicalNSW`), wherever the graph lives: in the thread that
 * runs the memory step (`LocalGraph`) or in a graph worker thread (`graph-worker.ts`). Both run these functions,
 * so a graph answers the same whichever thread holds it. Requests and answers are plain typed arrays, so they
 * cross threads by structured clone.
 */
import type * as Hnswlib from 'hnswlib-node';

/** hnswlib's `initIndex` arguments for a new graph. */
export interface GraphShape {
  readonly cellSize: number;
  readonly capacity: number;
  /** M: links per node on the upper layers (2M on the bottom one). */
  readonly degree: number;
  /** efConstruction: candidate list breadth while inserting. */
  readonly constructionBreadth: number;
  /** ef: candidate list breadth while searching. */
  readonly searchBreadth: number;
  readonly seed: number;
}

/** Rows to insert, in `labels` order: `rows` is `[labels.length, cellSize]` row-major. */
export interface GraphBuild extends GraphShape {
  readonly rows: Float32Array;
  readonly labels: Int32Array;
}

/**
 * An in-place update: (re-)insert `labels` (rows `[labels.length, cellSize]`), where a label flagged in `recheck`
 * is skipped when the graph already holds its row's direction (a row restored by a rollback), then delete
 * `deletes`. `capacity` is the label capacity the graph must have room for.
 */
export interface GraphUpdate {
  readonly rows: Float32Array;
  readonly labels: Int32Array;
  readonly recheck: Uint8Array;
  readonly deletes: Int32Array;
  readonly capacity: number;
}

/**
 * k-NN requests for `queries` (`[queryCount, cellSize]` row-major). Query q asks for `wanted[q]` results that are
 * not `stale` (0: skip the query); the graph is first asked for `widened[q]` ≥ `wanted[q]` results without a
 * filter, and again with a filter that drops stale labels only when too few fresh ones come back.
 */
export interface GraphSearch {
  readonly queries: Float32Array;
  readonly wanted: Int32Array;
  readonly widened: Int32Array;
  readonly stale: Int32Array;
}

/**
 * Answers, `[queryCount, width]` row-major with `counts[q]` entries in row q (best first); `counts[q]` is −1
 * where the graph could not return enough results (many deletions, tiny graphs): the caller scans instead.
 */
export interface GraphAnswer {
  readonly width: number;
  readonly labels: Int32Array;
  readonly distances: Float32Array;
  readonly counts: Int32Array;
}

/** A new, empty graph with `shape`'s parameters. */
export function createGraph(library: typeof Hnswlib, shape: GraphShape): Hnswlib.HierarchicalNSW {
  const graph = new library.HierarchicalNSW('cosine', shape.cellSize);
  graph.initIndex(shape.capacity, shape.degree, shape.constructionBreadth, shape.seed);
  graph.setEf(shape.searchBreadth);
  return graph;
}

/** A graph holding `build`'s rows, inserted in order (the same graph an in-place update of those rows makes). */
export function buildGraph(library: typeof Hnswlib, build: GraphBuild): Hnswlib.HierarchicalNSW {
  const graph = createGraph(library, build);
  const row = new Array<number>(build.cellSize);
  for (let i = 0; i < build.labels.length; i++) {
    for (let j = 0; j < build.cellSize; j++) row[j] = build.rows[i * build.cellSize + j];
    graph.addPoint(row, build.labels[i]);
  }
  return graph;
}

/** Apply `update` to `graph` in place. */
export function updateGraph(graph: Hnswlib.HierarchicalNSW, update: GraphUpdate): void {
  if (graph.getMaxElements() < update.capacity) graph.resizeIndex(update.capacity);
  const width = update.rows.length / Math.max(1, update.labels.length);
  for (let i = 0; i < update.labels.length; i++) {
    const row = update.rows.subarray(i * width, (i + 1) * width);
    if (update.recheck[i] === 1 && holdsDirection(graph, update.labels[i], row)) continue;
    graph.addPoint(Array.from(row), update.labels[i]);
  }
  for (const label of update.deletes) graph.markDelete(label);
}

/** Whether the graph's (normalised) vector for `label` is `row`'s direction, to float32 precision. */
function holdsDirection(graph: Hnswlib.HierarchicalNSW, label: number, row: Float32Array): boolean {
  const stored = graph.getPoint(label);
  let norm = 0;
  for (const value of row) norm += value * value;
  norm = Math.sqrt(norm);
  return stored.length === row.length && stored.every((value, i) => Math.abs(value - row[i] / norm) <= 1e-6);
}

/** Answer every query of `search` from `graph`. */
export function searchGraph(graph: Hnswlib.HierarchicalNSW, search: GraphSearch): GraphAnswer {
  const queryCount = search.wanted.length;
  const width = Math.max(1, ...search.widened);
  const cellSize = search.queries.length / Math.max(1, queryCount);
  const answer: GraphAnswer = {
    width,
    labels: new Int32Array(queryCount * width).fill(-1),
    distances: new Float32Array(queryCount * width),
    counts: new Int32Array(queryCount),
  };
  const stale = new Set(search.stale);
  for (let q = 0; q < queryCount; q++) {
    if (search.wanted[q] === 0) continue;
    const query = Array.from(search.queries.subarray(q * cellSize, (q + 1) * cellSize));
    const result = freshNeighbours(graph, query, search.wanted[q], search.widened[q], stale);
    if (result === null) {
      answer.counts[q] = -1;
      continue;
    }
    answer.counts[q] = result.neighbors.length;
    answer.labels.set(result.neighbors, q * width);
    answer.distances.set(result.distances, q * width);
  }
  return answer;
}

/**
 * At least `wanted` results that are not stale, or null. hnswlib calls a filter back for every node it visits,
 * which makes a search about 1.5× slower, and asking for k + |stale| instead would widen every search to hundreds
 * of results: so the graph is asked for `widened` results without a filter first, and again with the filter only
 * when too many of those are stale.
 */
function freshNeighbours(
  graph: Hnswlib.HierarchicalNSW,
  query: number[],
  wanted: number,
  widened: number,
  stale: ReadonlySet<number>,
): Hnswlib.SearchResult | null {
  const first = knn(graph, query, stale.size === 0 ? wanted : widened);
  if (stale.size === 0) return first;
  if (first !== null && first.neighbors.filter((label) => !stale.has(label)).length >= wanted) return first;
  return knn(graph, query, wanted, (label: number) => !stale.has(label));
}

function knn(
  graph: Hnswlib.HierarchicalNSW,
  query: number[],
  wanted: number,
  filter?: (label: number) => boolean,
): Hnswlib.SearchResult | null {
  try {
    return filter === undefined ? graph.searchKnn(query, wanted) : graph.searchKnn(query, wanted, filter);
  } catch {
    return null;
  }
}
