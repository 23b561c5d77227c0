import { expect, test } from '@playwright/test';

test('the app loads, starts tfjs in a worker and runs a generator', async ({ page }, testInfo) => {
  const backend = testInfo.project.name; // 'wasm' or 'webgpu'
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/?backend=${backend}`);
  // Home first; the device chip in the header names the backend and opens the diagnostics.
  await expect(page.getByRole('heading', { name: 'Make image-to-image networks run in real time on this device' })).toBeVisible();
  await expect(page.getByTestId('device-chip')).toContainText(backend, { timeout: 60_000 });
  await expect(page.getByTestId('self-test')).toBeHidden();
  await page.getByTestId('device-chip').click();
  await expect(page).toHaveTitle('Device · ALAP studio');
  await expect(page.getByTestId('backend-name')).toHaveText(backend);
  await expect(page.getByTestId('isolated')).toHaveText('yes');
  const selfTest = page.getByTestId('self-test');
  await expect(selfTest).toContainText(`ran on ${backend}, output 1x32x32x3`, { timeout: 90_000 });
  const meanAbs = Number(/mean \|y\| ([\d.]+)/.exec((await selfTest.textContent()) ?? '')?.[1]);
  expect(meanAbs).toBeGreaterThan(0);
  if (backend === 'wasm') {
    await expect(page.getByTestId('wasm-flags')).toContainText('SIMD on');
    // One thread per logical core (tfjs-wasm caps at 8; unpatched it starts half the cores).
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = Math.min(cores, 8);
    await expect(page.getByTestId('wasm-flags')).toContainText(`threads: ${threads} in use (${cores} requested)`);
  }
  if (backend === 'webgpu') await expect(page.getByTestId('adapter')).toBeVisible();
  expect(errors).toEqual([]);
});
