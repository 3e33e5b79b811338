'use client';
/**
 * The Visdom windows of a run that is a Visdom env, other than heatmaps (those are frame tensors in the panel
 * grid): plots drawn from the traces and layout as sent, text as text, images from inline data URLs. Nothing a
 * script sends is ever inserted as HTML: text goes in as a React text child, images only as `data:image/…` sources.
 */
import { memo, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Data, Layout } from 'plotly.js-dist-min';
import type { ImagePanel, PlotPanel, TextPanel } from '../../server/protocol/visdom';
import { PlotlyChart } from '../charts/PlotlyChart';
import { visdomSelectors } from '../state/visdom-slice';
import { useDashboardStore } from '../state/StoreProvider';
import { downloadBlob } from '../export/browser';
import { plotLayout, safeImageSrc, safeTraces, testIdOf, tracesCsv } from './view';

function PlotView({ panel }: { panel: PlotPanel }) {
  const data = useMemo(() => safeTraces(panel.traces) as unknown as Data[], [panel.traces]);
  const layout = useMemo(() => plotLayout(panel) as Partial<Layout>, [panel]);
  return (
    <PlotlyChart
      data={data}
      layout={layout}
      revision={panel.version}
      testId={`visdom-plot-${testIdOf(panel.win)}`}
      className="plotly-chart visdom-plot"
    />
  );
}

function TextView({ panel }: { panel: TextPanel }) {
  return (
    <pre className="visdom-text" data-testid={`visdom-text-${testIdOf(panel.win)}`}>
      {panel.text}
    </pre>
  );
}

function ImageView({ panel }: { panel: ImagePanel }) {
  const [picked, setPicked] = useState<number | null>(null);
  const index = Math.min(picked ?? panel.selected, panel.images.length - 1);
  const item = panel.images[index];
  const src = item === undefined ? null : safeImageSrc(item.src);
  return (
    <figure className="visdom-image" data-testid={`visdom-image-${testIdOf(panel.win)}`} data-index={index}>
      {src === null ? (
        <div className="empty">image refused</div>
      ) : (
        // biome-ignore lint/performance/noImgElement: an inline data URL; next/image has nothing to optimise
        <img src={src} alt={item?.caption ?? ''} />
      )}
      {item?.caption ? <figcaption>{item.caption}</figcaption> : null}
      {panel.images.length > 1 ? (
        <input
          type="range"
          min={0}
          max={panel.images.length - 1}
          value={index}
          aria-label="image history"
          data-testid={`visdom-image-slider-${testIdOf(panel.win)}`}
          onChange={(e) => setPicked(Number(e.target.value))}
        />
      ) : null}
    </figure>
  );
}

const VisdomPanelView = memo(function VisdomPanelView({ win }: { win: string }) {
  const panel = useDashboardStore(visdomSelectors.panel(win));
  if (panel === undefined) return null;
  return (
    <section className="visdom-panel" data-testid={`visdom-panel-${testIdOf(win)}`} data-kind={panel.kind}>
      <div className="visdom-head">
        <span className="visdom-title">{panel.title || win}</span>
        {panel.kind === 'plot' ? (
          <button
            type="button"
            className="btn btn-small"
            data-testid={`visdom-csv-${testIdOf(win)}`}
            title="the plotted points as CSV (trace, x, y)"
            onClick={() =>
              downloadBlob(new Blob([tracesCsv(panel.traces)], { type: 'text/csv' }), `${testIdOf(win)}.csv`)
            }
          >
            CSV
          </button>
        ) : null}
      </div>
      {panel.kind === 'plot' ? <PlotView panel={panel} /> : null}
      {panel.kind === 'text' ? <TextView panel={panel} /> : null}
      {panel.kind === 'image' ? <ImageView panel={panel} /> : null}
    </section>
  );
});

export function VisdomPanels({ runId }: { runId: string }) {
  const order = useDashboardStore(useShallow(visdomSelectors.order));
  const loadedFor = useDashboardStore((s) => s.visdomRunId);
  if (loadedFor !== runId || order.length === 0) return null;
  return (
    <div className="visdom-panels" data-testid="visdom-panels">
      <div className="section-title">Visdom windows</div>
      <div className="visdom-grid">
        {order.map((win) => (
          <VisdomPanelView key={win} win={win} />
        ))}
      </div>
    </div>
  );
}
