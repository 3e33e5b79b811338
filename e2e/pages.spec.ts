/**
 * Pages around the runs: an unknown run id gets a "no such run" page, and no page load asks for a missing file
 * (the favicon was the last one).
 */
import { createRun, expect, test } from './fixtures';

test('an unknown run id shows a "no such run" page with the way back, and nothing 404s', async ({ runPage, page }) => {
  const missing: string[] = [];
  page.on('response', (res) => {
    if (res.status() === 404) missing.push(res.url());
  });
  await runPage.open('no-such-run-id');
  await expect(page.getByTestId('no-such-run')).toContainText('No such run');
  await expect(page.getByTestId('no-such-run')).toContainText('no-such-run-id');
  await expect(page.locator('link[rel="icon"]')).toHaveCount(1);
  await page.getByRole('link', { name: 'All runs' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  expect(missing).toEqual([]);
});

test('a stopped run is deleted from the runs page after a confirm, with its storage', async ({
  runsPage,
  page,
  request,
}) => {
  const run = await createRun(request, { _trainer: 'synthetic', _step_ms: 20, summarize_freq: 5 }, 'to delete');
  await request.post(`/api/runs/${run.id}/stop`);
  await runsPage.goto();
  const row = page.getByTestId(`run-row-${run.id}`);
  await expect(row).toHaveAttribute('data-state', 'stopped');
  // The list's header shows the disk the data uses against the storage budget, with each run's share.
  const disk = page.getByTestId('disk-used');
  await expect(disk).toContainText(/^disk \d/);
  await expect(disk).toHaveAttribute('title', /to delete: \d+ frames/);
  page.once('dialog', (dialog) => void dialog.dismiss());
  await page.getByTestId(`delete-${run.id}`).click();
  await expect(row).toBeVisible();
  page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain('to delete');
    void dialog.accept();
  });
  await page.getByTestId(`delete-${run.id}`).click();
  await expect(row).toHaveCount(0);
  expect((await request.get(`/api/runs/${run.id}`)).status()).toBe(404);
});
