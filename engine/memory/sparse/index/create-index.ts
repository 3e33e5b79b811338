/**
 * Picks and builds the nearest-neighbour index of one sparse-memory batch element (Rae et al. 2016, §3.4): exact
 * search for small memories, HNSW above `EXACT_INDEX_MAX_CELLS` cells or when asked, and exact search with a
 * warning when hnswlib-node cannot load.
 */
import type { RowStore } from '../row-store';
import { ExactIndex } from './exact-index';
import { loadHnswlib } from './graph-host';
import { HnswIndex } from './hnsw-index';
import { EXACT_INDEX_MAX_CELLS, type CellIndex, type IndexType } from './types';

export const INDEX_TYPES: readonly IndexType[] = ['exact', 'hnsw', 'auto'];

/** The concrete index kind `type` means for a memory of `memorySize` cells. */
export function resolveIndexType(type: IndexType, memorySize: number): 'exact' | 'hnsw' {
  if (!INDEX_TYPES.includes(type)) {
    throw new Error(
      `resolveIndexType: option 'indexType' must be one of ${INDEX_TYPES.join(', ')}, got ${String(type)}`,
    );
  }
  if (type === 'auto') return memorySize <= EXACT_INDEX_MAX_CELLS ? 'exact' : 'hnsw';
  return type;
}

/** Build the index; `library` is injectable so tests can stand in for a machine without hnswlib-node. */
export function createCellIndex(
  type: IndexType,
  store: RowStore,
  options: { flushRows: number; seed: number },
  library: () => ReturnType<typeof loadHnswlib> = () => loadHnswlib(),
): CellIndex {
  if (resolveIndexType(type, store.memorySize) === 'hnsw') {
    const hnswlib = library();
    if (hnswlib !== null) return new HnswIndex(hnswlib, store, options);
  }
  return new ExactIndex(store);
}
