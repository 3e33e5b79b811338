import { HeatmapBench } from '../../../components/bench/HeatmapBench';

/** Benchmark harness for `npm run bench:ui`: live heatmap panels fed with in-page synthetic frames. */
export default function HeatmapBenchPage() {
  return <HeatmapBench />;
}
