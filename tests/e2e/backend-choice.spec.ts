import { expect, test } from '@playwright/test';
import { benchOnly, show } from './helpers';

/**
 * auto = measured. In the wasm project Chromium has no WebGPU; in the webgpu project its only
 * adapter is SwiftShader (software), tens of times slower than wasm: auto must measure that and
 * choose wasm for training and for Live, say why, store the figures, and still let the user force webgpu.
 */
test('auto measures the backends once per device, chooses by the figures and says why; a manual choice is remembered', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  const gpu = testInfo.project.name === 'webgpu';
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
  const when = await page.getByTestId('probe-when').textContent();
  const cost = Number(/measured just now in (\d+) ms/.exec(when ?? '')?.[1]);
  expect(cost).toBeGreaterThan(0);
  testInfo.annotations.push({ type: 'probe cost on first visit', description: `${cost} ms (${testInfo.project.name})` });
  await expect(page.getByTestId('probe-wasm')).toContainText(/\d ms/);
  await expect(page.getByTestId('backend-reason')).toContainText(/auto: fastest measured here: wasm [\d.,]+ ms per training step/);
  if (gpu) {
    // SwiftShader: flagged as software, measured, and far slower: not chosen.
    await expect(page.getByTestId('probe-webgpu')).toContainText('webgpu (software adapter)');
    await expect(page.getByTestId('probe-webgpu')).toContainText(/not measured further: a forward took \d+x wasm's/);
    await expect(page.getByTestId('backend-reason')).toContainText(/webgpu not measured further: a forward took \d+x wasm's/);
  } else {
    await expect(page.getByTestId('probe-webgpu')).toContainText('did not start');
    await expect(page.getByTestId('backend-reason')).toContainText('webgpu did not start');
  }
  await expect(page.getByTestId('probe-cpu')).toContainText('not measured: a fallback');
  await expect(page.getByTestId('worker-backend')).toContainText('Training runs on wasm');
  await expect(page.getByTestId('worker-backend')).toContainText('auto: fastest measured here');

  // Live on auto: the model's frame time predicted per backend, wasm chosen, the reason shown.
  await show(page, 'live');
  await page.getByTestId('live-source').selectOption('generated');
  await page.getByTestId('live-runtime').selectOption('tfjs');
  await page.getByTestId('live-start').click();
  const live = page.getByTestId('live-backend');
  await expect(live).toContainText(/tfjs backend: wasm \(auto: fastest predicted from the probe here: wasm [\d.,]+ ms per frame at \d+\.\d\d GMACs/, { timeout: 60_000 });
  if (gpu) await expect(live).toContainText(/webgpu not measured further: a forward took \d+x wasm's/);
  await expect(page.getByTestId('live-shown')).not.toHaveText('0', { timeout: 60_000 });
  await page.getByTestId('live-stop').click();

  // The benchmark shows what auto would choose for each measured model, next to the measured rows.
  await show(page, 'benchmark');
  await page.getByTestId('bench-size').fill('64');
  await page.getByTestId('bench-runs').fill('1');
  await benchOnly(page, 'wasm');
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  await expect(page.getByTestId('bench-auto')).toContainText(/Auto \(Live\) would run Face → cartoon base \(shipped\) at 64 px on wasm: predicted wasm [\d.]+ ms/, { timeout: 120_000 });

  // A second visit reads the stored figures: no measuring.
  await page.reload();
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await expect(page.getByTestId('probe-when')).toContainText('stored, measured');
  await expect(page.getByTestId('probing')).toHaveCount(0);

  // A manual choice overrides auto and is remembered across visits; auto again forgets it.
  const manual = gpu ? 'webgpu' : 'cpu';
  await show(page, 'device');
  await page.getByTestId('backend-choice').selectOption(manual);
  await expect(page.getByTestId('backend-name')).toHaveText(manual, { timeout: 60_000 });
  await expect(page.getByTestId('self-test')).toContainText(`ran on ${manual}`, { timeout: 90_000 });
  await expect(page.getByTestId('backend-reason')).toContainText('chosen by you, remembered on this device');
  await page.reload();
  await expect(page.getByTestId('backend-name')).toHaveText(manual, { timeout: 60_000 });
  await expect(page.getByTestId('backend-choice')).toHaveValue(manual);
  await page.getByTestId('backend-choice').selectOption('auto');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  expect(errors).toEqual([]);
});
