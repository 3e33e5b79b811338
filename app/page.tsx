import { RunsView } from '../components/runs/RunsView';

export default function RunsPage() {
  return <RunsView />;
}
