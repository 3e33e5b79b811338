import { RunView } from '../../../components/run/RunView';

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <RunView runId={decodeURIComponent(id)} />;
}
