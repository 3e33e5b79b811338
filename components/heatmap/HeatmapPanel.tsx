'use client';
/**
 * One heatmap panel for one tensor, drawn generically from its PanelSpec. Frames reach it through a transient
 * store subscription: the canvas (one pixel per cell, scaled by CSS with crisp pixels) is redrawn with a colour
 * lookup into an ImageData, and `data-iteration` / `data-timestep` are set on the element directly, so React does
 * not re-render per frame and the layout never moves when frames arrive.
 */
import { memo, useEffect, useRef, useState } from 'react';
import type { DecodedFrame, DecodedTensor } from '../../server/protocol/frames';
import { colorTable, mapValues, rgbCss } from '../lib/colormap';
import { cellAxes, extractView, wrongBits, type PanelSpec } from '../lib/panels';
import { pooledGrid, poolValues } from '../lib/pool';
import { formatValue } from '../export/figure';
import { figureLayout } from '../export/figure';
import { downloadBlob, panelPng, panelSvgFile, tensorCsvFile, tensorJsonFile, tensorNpy } from '../export/browser';
import { exportStem } from '../export/figure';
import { shownFrame, type DashboardState } from '../state/store';
import { useDashboardStoreApi } from '../state/StoreProvider';
import { cellAt, GROUP_BOX, panelScale, rangeToLock, viewDisplaySize, type PanelScale } from './view-math';

const WRONG_MARK_PX = 8;

function findTensor(frame: DecodedFrame | null, spec: PanelSpec): DecodedTensor | undefined {
  return frame?.tensors.find((t) => t.name === spec.name && t.layer === spec.layer);
}

interface ViewRefs {
  canvas: HTMLCanvasElement | null;
  marks: HTMLCanvasElement | null;
  timeRow: HTMLDivElement | null;
  cellRow: HTMLDivElement | null;
  cellCol: HTMLDivElement | null;
}

export const HeatmapPanel = memo(function HeatmapPanel({ spec }: { spec: PanelSpec }) {
  const store = useDashboardStoreApi();
  const rootRef = useRef<HTMLElement>(null);
  const viewRefs = useRef<ViewRefs[]>(
    spec.views.map(() => ({ canvas: null, marks: null, timeRow: null, cellRow: null, cellCol: null })),
  );
  const barRef = useRef<HTMLCanvasElement>(null);
  const barMaxRef = useRef<HTMLSpanElement>(null);
  const barMinRef = useRef<HTMLSpanElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const shown = useRef<{ values: Float32Array[]; scale: PanelScale | null }>({ values: [], scale: null });
  const [locked, setLocked] = useState(() => spec.key in store.getState().lockedRanges);
  const box = GROUP_BOX[spec.group];
  const sizes = spec.views.map((v) => viewDisplaySize(v.rows, v.cols, box));
  const grids = spec.views.map((v) => pooledGrid(v.rows, v.cols));
  const exportSize = figureLayout(
    spec.views.map((v, i) => ({ label: v.label, rows: grids[i].rows, cols: grids[i].cols })),
  );

  useEffect(() => {
    const scratch = spec.views.map((v) => new Float32Array(v.rows * v.cols));
    const viewGrids = spec.views.map((v) => pooledGrid(v.rows, v.cols));
    const pooledScratch = viewGrids.map((g) => new Float32Array(g.rows * g.cols));
    const images: (ImageData | null)[] = spec.views.map(() => null);
    let barMap = '';
    let last: {
      frame: DecodedFrame | null;
      timestep: number;
      lock: [number, number] | undefined;
      highlight: number | null;
    } = {
      frame: null,
      timestep: -1,
      lock: undefined,
      highlight: null,
    };

    const draw = (s: DashboardState) => {
      const frame = shownFrame(s);
      const lock = s.lockedRanges[spec.key];
      if (
        frame === last.frame &&
        s.timestep === last.timestep &&
        lock === last.lock &&
        s.highlightCell === last.highlight
      )
        return;
      last = { frame, timestep: s.timestep, lock, highlight: s.highlightCell };
      const root = rootRef.current;
      const tensor = findTensor(frame, spec);
      if (!root || !frame || !tensor) return;
      // A frame whose shapes changed (curriculum: longer sequences) is drawn by the panel React mounts for the new
      // layout; this one is about to unmount.
      if (tensor.shape.length !== spec.shape.length || tensor.shape.some((d, k) => d !== spec.shape[k])) return;
      const t = s.timestep;
      const values = spec.views.map((v, i) => extractView(tensor.data, v, spec.perTimestep ? t : 0, scratch[i]));
      const scale = panelScale(values, lock);
      const table = colorTable(scale.map);
      spec.views.forEach((v, i) => {
        const refs = viewRefs.current[i];
        const ctx = refs.canvas?.getContext('2d');
        if (!ctx) return;
        const grid = viewGrids[i];
        const image = images[i] ?? ctx.createImageData(grid.cols, grid.rows);
        images[i] = image;
        mapValues(
          poolValues(values[i], v.rows, v.cols, grid, pooledScratch[i]),
          new Uint32Array(image.data.buffer),
          table,
          scale.min,
          scale.max,
        );
        ctx.putImageData(image, 0, 0);
        if (refs.timeRow) {
          const showRow = v.rowAxis === 'time' && v.rows > 1;
          refs.timeRow.style.display = showRow ? 'block' : 'none';
          if (showRow) {
            refs.timeRow.style.top = `${(t / v.rows) * 100}%`;
            refs.timeRow.style.height = `${100 / v.rows}%`;
          }
        }
        const axes = cellAxes(v);
        const hl = s.highlightCell;
        if (refs.cellRow) {
          const on = hl !== null && axes.rows && hl < v.rows;
          refs.cellRow.style.display = on ? 'block' : 'none';
          if (on) {
            refs.cellRow.style.top = `${(hl / v.rows) * 100}%`;
            refs.cellRow.style.height = `${100 / v.rows}%`;
          }
        }
        if (refs.cellCol) {
          const on = hl !== null && axes.cols && hl < v.cols;
          refs.cellCol.style.display = on ? 'block' : 'none';
          if (on) {
            refs.cellCol.style.left = `${(hl / v.cols) * 100}%`;
            refs.cellCol.style.width = `${100 / v.cols}%`;
          }
        }
      });
      if (spec.name === 'output') drawWrongBits(frame, tensor);
      if (barMap !== scale.map && barRef.current) {
        barMap = scale.map;
        const ctx = barRef.current.getContext('2d');
        if (ctx) {
          const h = barRef.current.height;
          const tableBar = colorTable(scale.map);
          for (let y = 0; y < h; y++) {
            ctx.fillStyle = rgbCss(tableBar[Math.round((1 - y / (h - 1)) * (tableBar.length - 1))]);
            ctx.fillRect(0, y, 1, 1);
          }
        }
      }
      if (barMaxRef.current) barMaxRef.current.textContent = formatValue(scale.max);
      if (barMinRef.current) barMinRef.current.textContent = formatValue(scale.min);
      shown.current = { values, scale };
      root.dataset.iteration = String(frame.iteration);
      root.dataset.timestep = String(t);
      root.dataset.state = 'drawn';
    };

    const drawWrongBits = (frame: DecodedFrame, output: DecodedTensor) => {
      const target = frame.tensors.find((x) => x.name === 'target' && x.layer === spec.layer);
      const marks = viewRefs.current[0]?.marks;
      const ctx = marks?.getContext('2d');
      if (!marks || !ctx) return;
      ctx.clearRect(0, 0, marks.width, marks.height);
      const root = rootRef.current;
      if (!target || target.data.length !== output.data.length) {
        if (root) delete root.dataset.wrongBits;
        return;
      }
      const mask = frame.tensors.find((x) => x.name === 'mask' && x.layer === spec.layer);
      const wrong = wrongBits(
        output.data,
        target.data,
        mask && target.data.length % mask.data.length === 0 ? mask.data : undefined,
      );
      const cols = spec.views[0].cols;
      ctx.strokeStyle = '#ff3b5c';
      ctx.lineWidth = 2;
      let count = 0;
      for (let i = 0; i < wrong.length; i++) {
        if (!wrong[i]) continue;
        count++;
        ctx.strokeRect(
          (i % cols) * WRONG_MARK_PX + 1,
          Math.floor(i / cols) * WRONG_MARK_PX + 1,
          WRONG_MARK_PX - 2,
          WRONG_MARK_PX - 2,
        );
      }
      if (root) root.dataset.wrongBits = String(count);
      const badge = root?.querySelector<HTMLElement>('[data-role="wrong-count"]');
      if (badge) badge.textContent = count === 0 ? 'all bits right' : `${count} wrong bit${count === 1 ? '' : 's'}`;
    };

    // A subscriber that throws would break every other subscriber of the store: contain failures to this panel.
    const safeDraw = (s: DashboardState) => {
      try {
        draw(s);
        if (rootRef.current) delete rootRef.current.dataset.error;
      } catch (error) {
        console.error(`heatmap ${spec.key}: draw failed`, error);
        if (rootRef.current) rootRef.current.dataset.error = error instanceof Error ? error.message : String(error);
      }
    };
    safeDraw(store.getState());
    return store.subscribe(safeDraw);
  }, [store, spec]);

  const onMove = (i: number, e: React.MouseEvent<HTMLDivElement>) => {
    const tip = tipRef.current;
    const v = spec.views[i];
    const rect = e.currentTarget.getBoundingClientRect();
    const cell = cellAt(e.clientX - rect.left, e.clientY - rect.top, rect.width, rect.height, v.rows, v.cols);
    const values = shown.current.values[i];
    if (!tip || !cell || !values) return;
    const value = values[cell.row * v.cols + cell.col];
    const rowName = v.rowAxis || 'row';
    const colName = v.colAxis || 'col';
    tip.textContent =
      `${v.label ? `${v.label} · ` : ''}${rowName} ${cell.row} · ${colName} ${cell.col} = ` +
      `${Number.isFinite(value) ? value.toPrecision(4) : String(value)}`;
    tip.style.display = 'block';
  };
  const onLeave = () => {
    if (tipRef.current) tipRef.current.style.display = 'none';
  };
  const onClick = (i: number, e: React.MouseEvent<HTMLDivElement>) => {
    const v = spec.views[i];
    const rect = e.currentTarget.getBoundingClientRect();
    const cell = cellAt(e.clientX - rect.left, e.clientY - rect.top, rect.width, rect.height, v.rows, v.cols);
    if (!cell) return;
    const s = store.getState();
    if (v.rowAxis === 'time') s.setTimestep(cell.row);
    const axes = cellAxes(v);
    const picked = axes.rows ? cell.row : axes.cols ? cell.col : null;
    if (picked !== null) s.setHighlightCell(s.highlightCell === picked ? null : picked);
  };

  const toggleLock = () => {
    const s = store.getState();
    if (spec.key in s.lockedRanges) {
      s.unlockRange(spec.key);
      setLocked(false);
    } else if (shown.current.scale) {
      s.lockRange(spec.key, rangeToLock(spec.range, shown.current.scale));
      setLocked(true);
    }
  };

  const menuRef = useRef<HTMLDetailsElement>(null);
  const exportAs = async (kind: 'png' | 'svg' | 'npy' | 'csv' | 'json') => {
    if (menuRef.current) menuRef.current.open = false;
    const s = store.getState();
    const frame = shownFrame(s);
    const tensor = findTensor(frame, spec);
    if (!frame || !tensor) return;
    const run = s.runId ? s.runs[s.runId] : undefined;
    const runName = run?.name || s.runId || 'run';
    const input = {
      spec,
      tensor,
      iteration: frame.iteration,
      timestep: s.timestep,
      runName,
      locked: s.lockedRanges[spec.key],
    };
    const stem = exportStem(runName, frame.iteration, null, spec.key);
    const file =
      kind === 'png'
        ? await panelPng(input)
        : kind === 'svg'
          ? panelSvgFile(input)
          : kind === 'npy'
            ? tensorNpy(tensor, stem)
            : kind === 'csv'
              ? tensorCsvFile(tensor, stem)
              : tensorJsonFile(tensor, frame.iteration, stem);
    downloadBlob(file.blob, file.filename);
  };

  return (
    <section
      ref={rootRef}
      className={`panel panel-${spec.group}`}
      data-testid={spec.testId}
      data-tensor={spec.name}
      data-layer={spec.layer}
      data-shape={spec.shape.join('x')}
      data-export-width={exportSize.width}
      data-export-height={exportSize.height}
    >
      <header className="panel-head">
        <h3 title={spec.description ?? `${spec.name} [${spec.axes.join(', ')}]`}>{spec.title}</h3>
        <span className="panel-shape">{spec.shape.join('×')}</span>
        {spec.name === 'output' ? <span className="wrong-count" data-role="wrong-count" /> : null}
        <span className="panel-tools">
          <button
            type="button"
            className={`chip${locked ? ' chip-on' : ''}`}
            onClick={toggleLock}
            title={locked ? 'colour range locked; click for automatic' : 'automatic colour range; click to lock'}
            data-testid={`lock-${spec.key}`}
          >
            {locked ? 'locked' : 'auto'}
          </button>
          <details className="export-menu" ref={menuRef}>
            <summary data-testid={`export-menu-${spec.key}`} title="export this panel">
              ⤓
            </summary>
            <div className="export-items">
              {(['png', 'svg', 'npy', 'csv', 'json'] as const).map((k) => (
                <button key={k} type="button" data-testid={`export-${k}-${spec.key}`} onClick={() => void exportAs(k)}>
                  {k.toUpperCase()}
                </button>
              ))}
            </div>
          </details>
        </span>
      </header>
      <div className="panel-body">
        {spec.views.map((v, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a panel's views are positional and fixed by its spec
          <figure className="view" key={i}>
            {v.label ? <figcaption>{v.label}</figcaption> : null}
            {/* biome-ignore lint/a11y/noStaticElementInteractions lint/a11y/useKeyWithClickEvents: pointer picking */}
            <div
              className="view-canvas"
              style={{ width: sizes[i].width, height: sizes[i].height }}
              onMouseMove={(e) => onMove(i, e)}
              onMouseLeave={onLeave}
              onClick={(e) => onClick(i, e)}
            >
              <canvas
                ref={(el) => {
                  viewRefs.current[i].canvas = el;
                }}
                width={grids[i].cols}
                height={grids[i].rows}
              />
              {spec.name === 'output' && i === 0 ? (
                <canvas
                  className="marks"
                  ref={(el) => {
                    viewRefs.current[i].marks = el;
                  }}
                  width={v.cols * WRONG_MARK_PX}
                  height={v.rows * WRONG_MARK_PX}
                />
              ) : null}
              <div
                className="mark-time"
                ref={(el) => {
                  viewRefs.current[i].timeRow = el;
                }}
              />
              <div
                className="mark-cell-row"
                ref={(el) => {
                  viewRefs.current[i].cellRow = el;
                }}
              />
              <div
                className="mark-cell-col"
                ref={(el) => {
                  viewRefs.current[i].cellCol = el;
                }}
              />
            </div>
          </figure>
        ))}
        <div className="colorbar" title="colour scale">
          <span ref={barMaxRef} className="colorbar-label">
            1
          </span>
          <canvas ref={barRef} width={1} height={64} />
          <span ref={barMinRef} className="colorbar-label">
            0
          </span>
        </div>
      </div>
      <footer className="panel-foot">
        <span>
          {spec.views[0].rowAxis || '—'} ↓ · {spec.views[0].colAxis || '—'} →
        </span>
        <div className="tooltip" ref={tipRef} />
      </footer>
    </section>
  );
});
