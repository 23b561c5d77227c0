import { expect, test } from '@playwright/test';
import { benchOnly } from './helpers';
import { screenshot } from './screenshot';

test('the benchmark measures the shipped cartoon model on this backend, keeps the result, and profiles its layers', async ({ page }, testInfo) => {
  const backend = testInfo.project.name;
  test.setTimeout(backend === 'webgpu' ? 420_000 : 180_000); // SwiftShader is slow
  await page.goto(`/?backend=${backend}#/benchmark`);
  await expect(page.getByTestId('bench-model-a').locator('option:checked')).toContainText('Face → cartoon base (shipped)');
  // Side by side with its shipped real-time student by default; this test measures the base alone.
  await expect(page.getByTestId('bench-model-b').locator('option:checked')).toHaveText('Face → cartoon real-time student (shipped)');
  await page.getByTestId('bench-model-b').selectOption('');
  await page.getByTestId('bench-size').fill('64');
  await page.getByTestId('bench-runs').fill('3');
  // Only this project's backend (the others are measured in their own projects).
  await benchOnly(page, backend);
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  const row = page.getByTestId('bench-row');
  await expect(row).toHaveCount(1, { timeout: backend === 'webgpu' ? 240_000 : 150_000 });
  await expect(row).toContainText(backend);
  await expect(row).toContainText('Face → cartoon base (shipped)');
  const fps = Number(await row.getByTestId('bench-fps').textContent());
  expect(fps).toBeGreaterThan(0);
  await expect(page.getByTestId('bench-chart').locator('rect')).toHaveCount(1);
  // The per-frame chart: one line of the 3 timed frames, keyed by model and backend.
  const frames = page.getByTestId('bench-frames');
  await expect(frames.locator('polyline')).toHaveCount(1);
  expect((await frames.locator('polyline').getAttribute('points'))!.trim().split(' ')).toHaveLength(3);
  await expect(frames.locator('figcaption')).toContainText('Face → cartoon base (shipped)');
  // Kept in IndexedDB with the device description (written once the benchmark has finished).
  await expect(page.getByTestId('bench-history')).toContainText('(1)', { timeout: 60_000 });
  const stored = await page.evaluate(async () => {
    const open = indexedDB.open('alap-studio');
    const db: IDBDatabase = await new Promise((resolve) => (open.onsuccess = () => resolve(open.result)));
    const all: { rows: { backend: string; fps: number }[]; device: { hardwareConcurrency: number } }[] = await new Promise((resolve) => {
      const r = db.transaction('benchmarks').objectStore('benchmarks').getAll();
      r.onsuccess = () => resolve(r.result);
    });
    db.close();
    return all;
  });
  expect(stored).toHaveLength(1);
  expect(stored[0].rows[0].fps).toBeCloseTo(fps, 0);
  expect(stored[0].device.hardwareConcurrency).toBeGreaterThan(0);

  await page.getByTestId('bench-profile').click();
  const layers = page.getByTestId('bench-layers').locator('tbody tr');
  await expect(layers.first()).toBeVisible({ timeout: backend === 'webgpu' ? 240_000 : 120_000 });
  expect(await layers.count()).toBeGreaterThan(20); // every layer of the 4-block generator
  // Frames run through the inference copy: each batch norm folded into its convolution.
  await expect(page.getByTestId('bench-layers')).toContainText('block4_conv2');
  await expect(page.getByTestId('bench-layers')).not.toContainText('BatchNormalization');
  // The kernels of one frame: the count is the sum of the kinds listed; convolutions run fused
  // (bias and activation in the kernel); wasm times each kernel, WebGPU only with timestamp-query.
  const kernels = page.getByTestId('bench-kernel');
  const perKind = await kernels.evaluateAll((rows) => rows.map((r) => ({ name: r.children[0].textContent!, count: Number(r.children[1].textContent), ms: r.children[2].textContent! })));
  expect(Number(await page.getByTestId('bench-kernel-count').textContent())).toBe(perKind.reduce((a, k) => a + k.count, 0));
  expect(perKind.find((k) => k.name === 'FusedConv2D')?.count).toBeGreaterThanOrEqual(9); // its 10 convolutions, the last maybe apart
  if (backend === 'wasm') {
    await expect(page.getByTestId('bench-kernels').locator('summary')).toContainText('time per kernel as it ran');
    for (const k of perKind) expect(k.ms).toMatch(/^\d+\.\d\d$/);
  } else {
    await expect(page.getByTestId('bench-kernels').locator('summary')).toContainText(/GPU time per kernel \(timestamp-query\)|no timestamp-query, so kernels are counted/);
  }
  if (backend === 'wasm') await screenshot(page.locator('section[aria-label="Benchmark"]'), 'benchmark');
});

test('the same network on onnxruntime-web (its ONNX export) is measured next to tfjs-wasm', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'onnxruntime-web runs on wasm whatever the page backend');
  await page.goto('/?backend=wasm#/benchmark');
  await expect(page.getByTestId('bench-model-a').locator('option:checked')).toContainText('Face → cartoon base (shipped)');
  await page.getByTestId('bench-model-b').selectOption('');
  await page.getByTestId('bench-size').fill('64');
  await page.getByTestId('bench-runs').fill('3');
  for (const id of ['webgpu', 'wasm', 'wasm-1', 'ort', 'ort-1', 'webgl', 'cpu']) {
    const box = page.getByTestId(`bench-backend-${id}`);
    // The preview server isolates the page, so both one-thread rows exist on this 2-core machine.
    if (await box.count()) await box.setChecked(id === 'wasm-1' || id === 'ort-1');
  }
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  const rows = page.getByTestId('bench-row');
  await expect(rows).toHaveCount(2, { timeout: 150_000 });
  await expect(rows.nth(1)).toContainText('onnxruntime-web WASM, 1 thread');
  for (const i of [0, 1]) expect(Number(await rows.nth(i).getByTestId('bench-fps').textContent())).toBeGreaterThan(0);
});
