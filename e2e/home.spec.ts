import { test, expect } from '@playwright/test';

test('the home page names the product', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Engram' })).toBeVisible();
});
