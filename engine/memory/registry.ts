/**
 * Memory kinds by name: the dense DNC memory of Graves et al. 2016 and the sparse SAM and SDNC memories of Rae
 * et al. 2016 (`sparse/`). The DNC wrapper asks for a memory by the `memory_type` flag and
 * drives it only through `MemoryModule`.
 */
import type { MemoryTypeName } from '../training/types';
import { DenseMemory } from './dense-memory';
import { SparseAccessMemory, SparseTemporalMemory } from './sparse/sparse-memory';
import type { MemoryModule } from './types';

/** Sizes shared by every memory kind, plus the sparse kinds' own options (ignored by the dense memory). */
export interface MemoryConfig {
  /** Width of ξ, the controller output the interface is read from. */
  readonly inputSize: number;
  /** N: number of memory cells. */
  readonly memorySize: number;
  /** W: cell width. */
  readonly cellSize: number;
  /** R: read heads. */
  readonly readHeads: number;
  /** Ten separate interface Linears instead of one packed `interface_weights`. */
  readonly independentLinears?: boolean;
  /** K: sparse reads per head (SAM/SDNC only). */
  readonly sparseReads?: number;
  /** K_L: temporal reads (SDNC only). */
  readonly temporalReads?: number;
  /** Nearest-neighbour index of the sparse kinds (SAM/SDNC only). */
  readonly indexType?: 'exact' | 'hnsw' | 'auto';
}

/**
 * Build a memory of the named kind with seeded interface weights.
 *
 * @throws for a kind that is not implemented yet, naming the kinds that are
 */
export function createMemory(kind: MemoryTypeName, config: MemoryConfig, seed = 0): MemoryModule {
  switch (kind) {
    case 'dnc':
      return new DenseMemory({
        inputSize: config.inputSize,
        memorySize: config.memorySize,
        cellSize: config.cellSize,
        readHeads: config.readHeads,
        independentLinears: config.independentLinears,
        seed,
      });
    case 'sam':
    case 'sdnc': {
      const sparseConfig = {
        inputSize: config.inputSize,
        memorySize: config.memorySize,
        cellSize: config.cellSize,
        readHeads: config.readHeads,
        independentLinears: config.independentLinears,
        sparseReads: config.sparseReads,
        temporalReads: config.temporalReads,
        indexType: config.indexType,
      };
      return kind === 'sam' ? new SparseAccessMemory(sparseConfig, seed) : new SparseTemporalMemory(sparseConfig, seed);
    }
    default: {
      const unknown: never = kind;
      throw new Error(`createMemory: unknown memory type '${String(unknown)}'; available: 'dnc', 'sam', 'sdnc'`);
    }
  }
}
