/**
 * The link pass's chunks of batch rows (`link-pass-simd.ts`): how many batch rows' N×N matrices sit in the SIMD
 * module's heap at once, and the window over them that the forward and the backward pass walk in batch order.
 */

/**
 * Rows of the N×N matrices held in the heap at once: the whole batch at small N, where copying row by row was mostly
 * call overhead (≈5 % of the kernel's time at B 100, N 16), and never more than one batch row's matrix past N 1024.
 */
const CHUNK_FLOATS = 1 << 20;

/** Batch rows per chunk for these sizes: at least one. */
export function chunkRows(batch: number, cells: number, stride: number): number {
  return Math.max(1, Math.min(batch, Math.floor(CHUNK_FLOATS / (cells * stride))));
}

/**
 * The batch rows [start, end) whose matrices are in the heap. `enter(b)` brings in the chunk that starts at b when b
 * is outside the window, writing the previous chunk's results out first, and gives b's place in the chunk.
 */
export class ChunkWindow {
  private start = 0;
  private end = 0;

  constructor(
    private readonly batch: number,
    private readonly rowsPerChunk: number,
    private readonly load: (start: number, end: number) => void,
    private readonly writeOut: (start: number, end: number) => void,
  ) {}

  enter(b: number): number {
    if (b < this.start || b >= this.end) {
      this.flush();
      const end = Math.min(this.batch, b + this.rowsPerChunk);
      this.load(b, end);
      this.start = b;
      this.end = end;
    }
    return b - this.start;
  }

  /** Write the chunk in the heap out (once). */
  flush(): void {
    if (this.end <= this.start) return;
    this.writeOut(this.start, this.end);
    this.end = this.start;
  }
}
