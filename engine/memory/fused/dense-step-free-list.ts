/**
 * The free list of dynamic memory allocation (Graves et al. 2016, Methods: "Dynamic memory allocation"): the cells
 * in ascending usage, ties to the lower cell index, as `denseStepForward` orders them (step 3).
 */

/** Up to this many cells the free list is sorted by insertion: a typed array's comparator sort costs more there. */
const INSERTION_SORT_CELLS = 64;

/**
 * Orders `order` (holding 0…cells−1 ascending) by ascending `sortKeys[cell]`, ties to the lower cell index: one total
 * order, so insertion and the comparator sort give the same permutation.
 */
export function sortFreeList(order: Int32Array, sortKeys: Float64Array, cells: number): void {
  if (cells > INSERTION_SORT_CELLS) {
    order.sort((left, right) => sortKeys[left] - sortKeys[right] || left - right);
    return;
  }
  for (let j = 1; j < cells; j++) {
    const cell = order[j];
    const key = sortKeys[cell];
    let i = j - 1;
    // Strictly greater: an equal key stays after the lower indices already placed (insertion is stable).
    while (i >= 0 && sortKeys[order[i]] > key) {
      order[i + 1] = order[i];
      i--;
    }
    order[i + 1] = cell;
  }
}
