import { expect, test } from '@playwright/test';
import { expectLiveTensorsFlat } from './helpers';
import { fakeCameraLaunchOptions } from './fake-camera';
import { screenshot } from './screenshot';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the live path is the same on every backend; SwiftShader WebGPU is too slow to show a stream');
});

test.use({
  launchOptions: fakeCameraLaunchOptions(),
});

test('webcam frames flow through the cartoon model; displayed FPS and inference latency are reported; memory stays flat', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/?backend=wasm#/live');
  await expect(page.getByTestId('live-original').locator('option:checked')).toContainText('Face → cartoon');
  await page.getByTestId('live-size').fill('64');
  await page.getByTestId('live-start').click();
  await expect.poll(async () => Number(await page.getByTestId('live-shown').textContent()), { timeout: 60_000 }).toBeGreaterThan(20);
  expect(Number(await page.getByTestId('live-fps').textContent())).toBeGreaterThan(0);
  await expect(page.getByTestId('live-latency')).toHaveText(/^[\d.]+ ms$/);
  // The output canvas holds a picture (the cartoon of the fake camera's faces), not a blank.
  const colours = await page.getByTestId('live-output').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return { width: c.width, colours: seen.size };
  });
  expect(colours.width).toBe(64);
  expect(colours.colours).toBeGreaterThan(30);
  await expectLiveTensorsFlat(page, 40);
  await screenshot(page.locator('section[aria-label="Live demo"]'), 'live');
  await page.getByTestId('live-stop').click();
  await expect(page.getByTestId('live-stats')).toHaveCount(0);
});
