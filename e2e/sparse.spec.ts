/**
 * Sparse memories on the dashboard: an SDNC run's frames (visible rows, read positions, sparse links) get panels
 * with no special code, just as the dense DNC's do.
 */
import { createRun, expect, test } from './fixtures';

test('an SDNC run shows its sparse tensors as live heatmaps', async ({ runPage, request }) => {
  const run = await createRun(
    request,
    {
      memory_type: 'sdnc',
      nhid: 32,
      mem_slot: 256,
      mem_size: 8,
      read_heads: 2,
      sparse_reads: 2,
      temporal_reads: 2,
      batch_size: 2,
      sequence_max_length: 3,
      iterations: 1_000_000,
      summarize_freq: 1,
    },
    'sdnc',
  );
  await runPage.open(run.id);
  for (const name of ['visibleMemory', 'readWeights', 'writeWeights', 'linkMatrix', 'readPositions', 'usage']) {
    await expect(runPage.panel(name)).toBeVisible();
  }
  // Frames keep arriving: the panel shows a later iteration than the first one it drew.
  await expect.poll(() => runPage.panelIteration('visibleMemory')).toBeGreaterThan(0);
  const first = await runPage.panelIteration('visibleMemory');
  await expect.poll(() => runPage.panelIteration('visibleMemory')).toBeGreaterThan(first);
  await runPage.screenshot('run-sdnc');
  await runPage.page.getByTestId('stop-button').click();
  await expect(runPage.page.getByTestId('run-state')).toHaveText('stopped');
});
