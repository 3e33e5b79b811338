/**
 * The memory matrix M of a sparse memory (Rae et al. 2016, §3: M_t ∈ R^{N×W}, written K rows at a time) for one
 * batch element, kept on the host outside the gradient tape. Rows live in pages allocated on first write, so a
 * 1,000,000-cell memory that an episode touches in a few hundred rows costs a few pages, and the set of written
 * rows is tracked so that exact search scans only rows that can differ from zero. Every write returns what it
 * overwrote so that rollbacks restore the memory exactly.
 */

/** log2 of rows per page. 1024 rows × W 32 floats = 128 KiB pages. */
const PAGE_BITS = 10;
const PAGE_ROWS = 1 << PAGE_BITS;

/** What one row write overwrote: the old row, or null when the row had never been written (all zero). */
export interface RowOverwrite {
  readonly cell: number;
  readonly previous: Float32Array | null;
}

export class RowStore {
  /** Page i holds rows [i·1024, (i+1)·1024); undefined until one of them is written. */
  private readonly pages: (Float32Array | undefined)[];
  /** ‖row‖ of every row of each allocated page, kept current by every write and restore (exact search reads it). */
  private readonly normPages: (Float64Array | undefined)[];
  /** Position of each cell in `written`, or −1. */
  private readonly writtenPosition: Int32Array;
  private written: Int32Array = new Int32Array(64);
  private writtenCount = 0;
  /** No cell below this is unwritten: lets zero-row scans skip the written prefix LRU writes fill first. */
  private unwrittenFloor = 0;

  constructor(
    readonly memorySize: number,
    readonly cellSize: number,
  ) {
    this.writtenPosition = new Int32Array(memorySize).fill(-1);
    const pageCount = Math.ceil(memorySize / PAGE_ROWS);
    this.pages = new Array(pageCount).fill(undefined);
    this.normPages = new Array(pageCount).fill(undefined);
  }

  /** Number of rows ever written since the last clear (rows outside this set are exactly zero). */
  get writtenRowCount(): number {
    return this.writtenCount;
  }

  /** The i-th written cell, 0 ≤ i < writtenRowCount (order unspecified). */
  writtenCell(i: number): number {
    return this.written[i];
  }

  isWritten(cell: number): boolean {
    return this.writtenPosition[cell] >= 0;
  }

  /** The lowest unwritten cell at or above `from`, or −1; amortised O(1) for scans from 0. */
  nextUnwritten(from: number): number {
    let cell = Math.max(from, this.unwrittenFloor);
    while (cell < this.memorySize && this.writtenPosition[cell] >= 0) cell++;
    if (from <= this.unwrittenFloor) this.unwrittenFloor = cell;
    return cell < this.memorySize ? cell : -1;
  }

  /** The page holding `cell` and the row's offset in it, or null for a row in an unallocated (zero) page. */
  locate(cell: number): { page: Float32Array; offset: number } | null {
    const page = this.pages[cell >> PAGE_BITS];
    return page === undefined ? null : { page, offset: (cell & (PAGE_ROWS - 1)) * this.cellSize };
  }

  /** The page holding `cell`, or undefined when unallocated (all zero); the row starts at `rowOffset(cell)`. */
  pageOf(cell: number): Float32Array | undefined {
    return this.pages[cell >> PAGE_BITS];
  }

  /** ‖row `cell`‖ (the square root of its squares summed in index order); 0 for an unwritten row. */
  rowNorm(cell: number): number {
    return this.normPages[cell >> PAGE_BITS]?.[cell & (PAGE_ROWS - 1)] ?? 0;
  }

  rowOffset(cell: number): number {
    return (cell & (PAGE_ROWS - 1)) * this.cellSize;
  }

  /** Copy row `cell` into `out` at `offset` (zeros for unwritten rows). */
  readInto(cell: number, out: Float32Array, offset: number): void {
    const where = this.locate(cell);
    if (where === null) out.fill(0, offset, offset + this.cellSize);
    else out.set(where.page.subarray(where.offset, where.offset + this.cellSize), offset);
  }

  /** Overwrite row `cell` with `values[offset .. offset+W)`; returns what was there. */
  write(cell: number, values: Float32Array, offset: number): RowOverwrite {
    const pageIndex = cell >> PAGE_BITS;
    let page = this.pages[pageIndex];
    if (page === undefined) {
      page = new Float32Array(PAGE_ROWS * this.cellSize);
      this.pages[pageIndex] = page;
      this.normPages[pageIndex] = new Float64Array(PAGE_ROWS);
    }
    const rowOffset = (cell & (PAGE_ROWS - 1)) * this.cellSize;
    const wasWritten = this.isWritten(cell);
    const previous = wasWritten ? page.slice(rowOffset, rowOffset + this.cellSize) : null;
    page.set(values.subarray(offset, offset + this.cellSize), rowOffset);
    this.updateNorm(cell, page, rowOffset);
    if (!wasWritten) this.addWritten(cell);
    return { cell, previous };
  }

  /** Undo one write: restore the old row, or zero it and drop it from the written set. */
  restore(overwrite: RowOverwrite): void {
    const where = this.locate(overwrite.cell);
    if (where === null) return;
    if (overwrite.previous === null) {
      where.page.fill(0, where.offset, where.offset + this.cellSize);
      this.removeWritten(overwrite.cell);
      this.unwrittenFloor = Math.min(this.unwrittenFloor, overwrite.cell);
    } else {
      where.page.set(overwrite.previous, where.offset);
    }
    this.updateNorm(overwrite.cell, where.page, where.offset);
  }

  /** Forget everything: O(written rows + pages). */
  clear(): void {
    for (let i = 0; i < this.writtenCount; i++) this.writtenPosition[this.written[i]] = -1;
    this.writtenCount = 0;
    this.unwrittenFloor = 0;
    this.pages.fill(undefined);
    this.normPages.fill(undefined);
  }

  private updateNorm(cell: number, page: Float32Array, rowOffset: number): void {
    const norms = this.normPages[cell >> PAGE_BITS];
    if (norms === undefined) return;
    let squared = 0;
    for (let j = 0; j < this.cellSize; j++) squared += page[rowOffset + j] * page[rowOffset + j];
    norms[cell & (PAGE_ROWS - 1)] = Math.sqrt(squared);
  }

  private addWritten(cell: number): void {
    if (this.writtenCount === this.written.length) {
      const grown = new Int32Array(this.written.length * 2);
      grown.set(this.written);
      this.written = grown;
    }
    this.writtenPosition[cell] = this.writtenCount;
    this.written[this.writtenCount++] = cell;
  }

  private removeWritten(cell: number): void {
    const position = this.writtenPosition[cell];
    if (position < 0) return;
    const last = this.written[--this.writtenCount];
    this.written[position] = last;
    this.writtenPosition[last] = position;
    this.writtenPosition[cell] = -1;
  }
}
