/**
 * Pure view arithmetic for heatmap panels: on-screen size of a view, the colour scale a panel uses, and the cell
 * under the pointer.
 */
import { autoScale, finiteRange, fixedScale, type ColorMapName } from '../lib/colormap';
import type { PanelGroup } from '../lib/panels';

/** Largest on-screen box per panel group, in CSS pixels: memory slices get the room, strips stay small. */
export const GROUP_BOX: Record<PanelGroup, { width: number; height: number }> = {
  sequence: { width: 150, height: 300 },
  memory: { width: 300, height: 300 },
  overTime: { width: 300, height: 170 },
  strip: { width: 72, height: 170 },
};

const MAX_CELL_PX = 20;

/** CSS size of a `rows × cols` view inside `box`: integer pixels per cell while cells are ≥ 1 px, so cells stay
 *  crisp; fractional (the browser averages) only when the tensor has more cells than the box has pixels. */
export function viewDisplaySize(
  rows: number,
  cols: number,
  box: { width: number; height: number },
): { width: number; height: number; cellPx: number } {
  if (!(rows >= 1 && cols >= 1)) throw new Error(`viewDisplaySize: view has ${rows}×${cols} cells`);
  const fit = Math.min(box.width / cols, box.height / rows, MAX_CELL_PX);
  if (fit >= 1) {
    const cellPx = Math.floor(fit);
    return { width: cols * cellPx, height: rows * cellPx, cellPx };
  }
  // More cells than pixels on some axis: fit each axis on its own, so a 100k × 64 memory is a readable block, not a
  // one-pixel sliver.
  const axis = (n: number, room: number) => {
    const px = Math.min(room / n, MAX_CELL_PX);
    return Math.max(1, Math.round(n * (px >= 1 ? Math.floor(px) : px)));
  };
  return { width: axis(cols, box.width), height: axis(rows, box.height), cellPx: fit };
}

export interface PanelScale {
  map: ColorMapName;
  min: number;
  max: number;
  locked: boolean;
}

/** The colour scale for a panel: a locked range wins; otherwise automatic over every view's values together, so
 *  heads of one tensor are comparable. */
export function panelScale(
  views: readonly ArrayLike<number>[],
  locked: readonly [number, number] | undefined,
): PanelScale {
  if (locked) return { ...fixedScale(locked[0], locked[1]), locked: true };
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of views) {
    const r = finiteRange(v);
    if (!r) continue;
    lo = Math.min(lo, r[0]);
    hi = Math.max(hi, r[1]);
  }
  return { ...autoScale(lo === Infinity ? null : [lo, hi]), locked: false };
}

/** The range to lock a panel at: its tensor's declared range when there is one, else what it shows now. */
export function rangeToLock(declared: readonly [number, number] | undefined, current: PanelScale): [number, number] {
  if (declared && declared[1] > declared[0]) return [declared[0], declared[1]];
  return [current.min, current.max];
}

/** Cell under a pointer at (`x`, `y`) CSS pixels inside a view drawn `width × height`; null outside. */
export function cellAt(
  x: number,
  y: number,
  width: number,
  height: number,
  rows: number,
  cols: number,
): { row: number; col: number } | null {
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  return {
    row: Math.min(rows - 1, Math.floor((y / height) * rows)),
    col: Math.min(cols - 1, Math.floor((x / width) * cols)),
  };
}
