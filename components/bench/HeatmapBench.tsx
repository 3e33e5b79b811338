'use client';
/**
 * UI-only benchmark harness (route `/bench/heatmap?size=N`): the run page's panel grid fed with synthetic DNC-like
 * frames generated in the page, no server involved. Frames go through the same path as live ones — wire bytes
 * decoded by the protocol codec, `receiveFrame` into the store, panels drawing through transient subscriptions —
 * and the next frame is issued on the animation frame after the draw, exactly like the socket's ack-driven flow
 * control. Each frame's issue → drawn time lands in `window.__engramFrameTimings` for `npm run bench:ui`.
 */
import { useEffect, useState } from 'react';
import { decodeFrame, encodeFloat32, type WireFrame } from '../../server/protocol/frames';
import { recordFrameTiming } from '../live/frame-timings';
import { syntheticFrame } from '../live/synthetic';
import { PanelGrid } from '../run/PanelGrid';
import { useDashboardStoreApi } from '../state/StoreProvider';

/** Distinct frames cycled through, so the panels really change every frame without generating in the loop. */
const VARIANTS = 6;

export function HeatmapBench() {
  const store = useDashboardStoreApi();
  const [size, setSize] = useState<number | null>(null);

  useEffect(() => {
    const n = Number(new URLSearchParams(window.location.search).get('size') ?? 256);
    if (!Number.isInteger(n) || n < 1 || n > 2048)
      throw new Error(`HeatmapBench: size must be an integer in [1, 2048], got ${n}`);
    setSize(n);
    const wires: WireFrame[] = [];
    for (let v = 0; v < VARIANTS; v++) {
      const frame = syntheticFrame('bench', v * 37, { cells: n, width: n, heads: 2, timesteps: 4, channels: 6 });
      wires.push({ ...frame, tensors: frame.tensors.map((t) => ({ ...t, data: encodeFloat32(t.data) })) });
    }
    store.getState().openRun('bench');
    let iteration = 0;
    let raf = 0;
    let stopped = false;
    const issue = () => {
      if (stopped) return;
      iteration++;
      const capturedAt = Date.now();
      const wire = { ...wires[iteration % VARIANTS], iteration, capturedAt };
      const receivedAt = Date.now();
      store.getState().receiveFrame(decodeFrame(wire));
      raf = requestAnimationFrame(() => {
        recordFrameTiming({ iteration, capturedAt, receivedAt, drawnAt: Date.now() });
        issue();
      });
    };
    issue();
    return () => {
      stopped = true;
      cancelAnimationFrame(raf);
    };
  }, [store]);

  return (
    <div className="page run-page" data-testid="heatmap-bench" data-size={size ?? ''}>
      <header className="topbar">
        <span className="brand">Engram</span>
        <span className="crumb">/</span>
        <span className="run-name">UI benchmark · {size}²</span>
      </header>
      <PanelGrid aside={null} />
    </div>
  );
}
