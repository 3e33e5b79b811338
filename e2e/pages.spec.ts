/**
 * Pages around the runs: an unknown run id gets a "no such run" page, and no page load asks for a missing file
 * (the favicon was the last one).
 */
import { expect, test } from './fixtures';

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
