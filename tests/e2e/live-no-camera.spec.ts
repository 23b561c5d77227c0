import { expect, test } from '@playwright/test';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the live path is the same on every backend');
});

test('without a camera the page says so, and generated faces work as the source', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/?backend=wasm');
  await page.getByTestId('live-size').fill('64');
  await page.getByTestId('live-start').click();
  await expect(page.getByTestId('live-error')).toContainText(/camera/i);
  await expect(page.getByTestId('live-error')).toContainText('generated faces');
  await page.getByTestId('live-source').selectOption('generated');
  await page.getByTestId('live-start').click();
  await expect.poll(async () => Number(await page.getByTestId('live-shown').textContent()), { timeout: 60_000 }).toBeGreaterThan(5);
});
