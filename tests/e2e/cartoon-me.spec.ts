import { expect, test } from '@playwright/test';
import { fakeCameraLaunchOptions } from './fake-camera';

test.use({
  launchOptions: fakeCameraLaunchOptions(),
});

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the flow is the same on every backend; SwiftShader is too slow to train');
});

test('cartoon me: capture, fine-tune (interrupted by a reload, then continued), compress to a target FPS, then Live split screen', async ({ page }) => {
  test.setTimeout(480_000);
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  const flow = page.getByTestId('cartoon-me');
  // A short fine-tune, and a target any machine meets (the search then keeps the whole model if it can).
  await flow.getByTestId('cartoon-minutes').fill('0.3');
  await flow.getByTestId('cartoon-fps').fill('1');
  await flow.getByTestId('camera-start').click();
  await flow.getByLabel('Frames', { exact: true }).fill('6');
  await flow.getByTestId('camera-capture').click();
  // Fine-tuning runs as a stored, checkpointed run: reload once it has checkpointed.
  await expect(flow.getByTestId('cartoon-step')).toContainText('Step 2 of 4', { timeout: 60_000 });
  const tuneRun = page.getByTestId('run').filter({ hasText: 'Cartoon me · fine-tune' });
  await expect.poll(async () => Number(await page.getByTestId('run-step').textContent().catch(() => '0')), { timeout: 120_000 }).toBeGreaterThan(11); // checkpoints every 10 steps, at least 20 steps
  await page.reload();
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await expect(tuneRun).toHaveAttribute('data-status', 'interrupted', { timeout: 30_000 });
  await expect(flow.getByTestId('cartoon-step')).toHaveText('Step 2 of 4');
  await flow.getByTestId('cartoon-continue').click();
  await expect(tuneRun).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  const compressRun = page.getByTestId('run').filter({ hasText: 'Cartoon me · 1 FPS at 256 px' });
  await expect(compressRun).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(compressRun.getByTestId('fps-row')).toContainText('target 1');
  await expect(flow.getByTestId('cartoon-step')).toContainText('Done');
  // Live shows the fine-tuned model and its compressed version side by side.
  await expect(page).toHaveURL(/#\/live$/);
  await expect(page.getByTestId('live-original').locator('option:checked')).toContainText('Cartoon me · fine-tune');
  await expect(page.getByTestId('live-compressed').locator('option:checked')).toContainText('Cartoon me · 1 FPS at 256 px');
  await expect(page.getByTestId('live-mode')).toHaveValue('split');
});
