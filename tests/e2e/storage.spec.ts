import { expect, test } from '@playwright/test';
import { configure, prepare, show, storedCounts } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'storage does not depend on the backend');
});

test('the Storage page lists what is stored with its size; deleting asks once, then takes a run\'s checkpoints and a dataset\'s images with it', async ({ page }) => {
  test.setTimeout(180_000);
  await prepare(page, 'backend=wasm');
  // A run interrupted by a reload keeps its checkpoint files.
  await configure(page, 200, 10, 5);
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect.poll(async () => Number(await page.getByTestId('run-step').textContent().catch(() => '0')), { timeout: 120_000 }).toBeGreaterThanOrEqual(6);
  await page.reload();
  await expect(page.getByTestId('run').first()).toHaveAttribute('data-status', 'interrupted', { timeout: 30_000 });
  const before = await storedCounts(page);
  expect(before).toMatchObject({ datasets: 1, images: 12, models: 1, runs: 1 });
  expect(before.checkpointFiles).toBeGreaterThan(0);

  await show(page, 'storage');
  const items = page.getByTestId('storage-item');
  await expect(items).toHaveCount(3);
  const run = items.and(page.locator('[data-store="runs"]'));
  expect(Number(await run.getAttribute('data-bytes'))).toBeGreaterThan(0);
  await expect(run).toContainText(/\d+\.\d KiB/);
  // One click asks; Keep keeps it; the second button deletes.
  await run.getByRole('button', { name: 'Delete' }).click();
  await run.getByRole('button', { name: 'Keep' }).click();
  await expect(items).toHaveCount(3);
  await run.getByRole('button', { name: 'Delete' }).click();
  await run.getByTestId('storage-confirm').click();
  await expect(page.getByTestId('storage-message')).toHaveText(/^Deleted shapes · macs 0\.5 · \d\d:\d\d \(/);
  await expect(items).toHaveCount(2);
  expect(await storedCounts(page)).toEqual({ ...before, runs: 0, checkpointFiles: 0 });

  const dataset = items.and(page.locator('[data-store="datasets"]'));
  await dataset.getByRole('button', { name: 'Delete' }).click();
  await expect(dataset.getByTestId('storage-confirm')).toHaveText('Delete the dataset and its images');
  await dataset.getByTestId('storage-confirm').click();
  await expect(items).toHaveCount(1);
  expect(await storedCounts(page)).toEqual({ ...before, runs: 0, checkpointFiles: 0, datasets: 0, images: 0 });
  // The other pages hear of it (a change notice): Compress no longer lists the dataset or the run.
  await show(page, 'compress');
  await expect(page.getByTestId('datasets').locator('li')).toHaveCount(0);
  await show(page, 'runs');
  await expect(page.getByTestId('run')).toHaveCount(0);
});
