import { expect, test } from '@playwright/test';
import { fakeCameraLaunchOptions } from './fake-camera';

test.use({
  launchOptions: fakeCameraLaunchOptions(),
});

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'capture does not depend on the backend');
});

test('webcam frames are captured into a face -> cartoon dataset', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  // The Data section's capture (Cartoon me has its own).
  const cam = page.locator('[data-testid="webcam-capture"]:not([data-testid="cartoon-me"] *)');
  await cam.getByTestId('camera-start').click();
  await expect(cam.getByTestId('camera-capture')).toBeVisible({ timeout: 30_000 });
  await cam.getByLabel('Frames', { exact: true }).fill('6');
  await expect(cam.getByTestId('camera-capture')).toHaveText('Capture 6 frames');
  await cam.getByTestId('camera-capture').click();
  await expect(page.getByTestId('datasets')).toContainText('Webcam -> cartoon (6 x 64px', { timeout: 60_000 });
  await expect(page.getByTestId('datasets')).toContainText('6 paired images (5 train, 1 held out)');
  // Inputs are camera frames (the fake camera's faces, not blank), targets their cartoons.
  const images = page.getByTestId('preview').locator('img');
  await expect(images).toHaveCount(12);
  const stats = await images.evaluateAll((imgs) =>
    Promise.all(
      imgs.slice(0, 2).map(async (i) => {
        const img = i as HTMLImageElement;
        await img.decode();
        const c = new OffscreenCanvas(64, 64).getContext('2d')!;
        c.drawImage(img, 0, 0);
        const d = c.getImageData(0, 0, 64, 64).data;
        const values = new Set<number>();
        for (let p = 0; p < d.length; p += 4) values.add((d[p] << 16) | (d[p + 1] << 8) | d[p + 2]);
        return { size: img.naturalWidth, colours: values.size };
      }),
    ),
  );
  expect(stats[0].size).toBe(64);
  expect(stats[0].colours).toBeGreaterThan(50); // a real frame, not a blank canvas
  expect(stats[1].colours).toBeLessThan(stats[0].colours); // the cartoon flattens colours
});
