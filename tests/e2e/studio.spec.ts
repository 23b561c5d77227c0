import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { advanced, configure, prepare, storedCounts } from './helpers';
import * as tf from '@tensorflow/tfjs';
import { loadModelFromFiles } from '../../src/core/io/model-files';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { modelCost } from '../../src/core/measure/cost';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { saveModelToFiles } from '../../src/core/io/model-files';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { encodePng } from '../../src/cli/images';
import { strFromU8, unzipSync } from 'fflate';
import * as ort from 'onnxruntime-web';

tf.env().set('PROD', true);

/** Twelve procedural 16x16 pairs as PNG files, as a user would pick them. */
function pngPairs() {
  const { inputs, targets } = syntheticShapes(12, 16, 4);
  const file = (img: (typeof inputs)[number]) => ({ name: `${img.name}.png`, mimeType: 'image/png', buffer: encodePng(img.width, img.height, img.channels, img.data) });
  return { inputs: inputs.map(file), targets: targets.map(file) };
}


test('import images, import a model by drag and drop, compress, see results, export a model that loads with tfjs', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.goto(`/?backend=${testInfo.project.name}#/compress`);
  const { inputs, targets } = pngPairs();
  await page.getByTestId('import-inputs').setInputFiles(inputs);
  await page.getByTestId('import-targets').setInputFiles(targets);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('datasets')).toContainText('12 paired images', { timeout: 60_000 });

  await tf.setBackend('cpu');
  const base = await saveModelToFiles(buildGenerator(defaultSpec('resnet', { ngf: 4, depth: 1, size: null })));
  const drop = await page.evaluateHandle(
    ([json, weights]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([json], 'model.json', { type: 'application/json' }));
      dt.items.add(new File([new Uint8Array(weights)], 'weights.bin'));
      return dt;
    },
    [base.modelJson, [...base.shards.get('weights.bin')!]] as const,
  );
  await page.getByTestId('model-drop').dispatchEvent('drop', { dataTransfer: drop });
  await expect(page.getByTestId('models').locator('li')).toHaveCount(1, { timeout: 60_000 });
  await page.getByLabel('Crop size').fill('16');
  await configure(page, 6, 6, 3);
  await page.getByRole('button', { name: 'Compress' }).click();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(run.getByTestId('report')).toContainText('x fewer');

  const downloads: Record<string, string> = {};
  page.on('download', async (d) => {
    downloads[d.suggestedFilename()] = await d.path();
  });
  // Exports come as one .zip per format, the deployable graph model offered first.
  await expect(run.getByTestId('export-format')).toHaveValue('tfjs-graph');
  const zipIn = async (format: string) => {
    await run.getByTestId('export-format').selectOption(format);
    await run.getByTestId('export-model').click();
    await expect.poll(() => Object.keys(downloads).find((n) => n.endsWith(`-${format}.zip`))).toBeTruthy();
    return unzipSync(new Uint8Array(readFileSync(downloads[Object.keys(downloads).find((n) => n.endsWith(`-${format}.zip`))!])));
  };
  const layers = await zipIn('tfjs-layers');
  expect(Object.keys(layers).sort()).toEqual(['README.md', 'model.json', 'weights.bin']);
  const student = await loadModelFromFiles(strFromU8(layers['model.json']), new Map([['weights.bin', layers['weights.bin']]]));
  // The ONNX zip runs in onnxruntime as the student does in tfjs.
  const onnxZip = await zipIn('onnx');
  expect(Object.keys(onnxZip).sort()).toEqual(['README.md', 'model.onnx']);
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(onnxZip['model.onnx']);
  const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 3);
  const fromOrt = (await session.run({ input: new ort.Tensor('float32', tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array, [1, 3, 16, 16]) })).output;
  const diff = tf.max(tf.abs(tf.sub(tf.transpose(tf.tensor(fromOrt.data as Float32Array, fromOrt.dims as number[]), [0, 2, 3, 1]), student.predict(x) as tf.Tensor)));
  expect(diff.dataSync()[0]).toBeLessThan(1e-4);
  // The same zoo model the page built, measured here: the export has at most half its MACs.
  const baseMacs = modelCost(readChannelGraph(buildGenerator(defaultSpec('resnet', { ngf: 4, depth: 1, size: null }))), [16, 16]).macs;
  const macs = modelCost(readChannelGraph(student), [16, 16]).macs;
  expect(macs).toBeGreaterThan(0);
  expect(macs).toBeLessThanOrEqual(baseMacs * 0.5);
  expect((student.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor).shape).toEqual([1, 16, 16, 3]);

  // Quantised exports: each precision's size and PSNR cost are shown before download.
  await run.getByTestId('compare-exports').click();
  const table = run.getByTestId('export-table');
  await expect(table.locator('tbody tr')).toHaveCount(3, { timeout: 60_000 });
  const row = (p: string) => table.locator(`tr[data-precision=${p}]`);
  const kib = async (p: string) => Number(/([\d.]+) KiB/.exec((await row(p).textContent()) ?? '')?.[1]);
  expect(await kib('float16')).toBeLessThan(await kib('float32'));
  expect(await kib('uint8')).toBeLessThan(await kib('float16'));
  await expect(row('float32')).toContainText('identical');
  await expect(row('float16')).toContainText(/\d+\.\d dB/);
  await expect(page.getByTestId('studio-error')).toHaveCount(0);
});

const DATASET_LINE: Record<string, string> = {
  'mask-to-face': 'Mask -> face (4 x 16px)',
  'face-to-cartoon': 'Face -> cartoon (4 x 16px)',
  unpaired: 'domain B: 4 unpaired images',
};

test('each built-in task generates its dataset', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'backend independent');
  await page.goto('/?backend=wasm#/compress');
  await page.getByLabel('Pairs').fill('4');
  await page.getByLabel('Size', { exact: true }).fill('16');
  for (const task of ['mask-to-face', 'face-to-cartoon', 'unpaired']) {
    await page.getByTestId('demo-task').selectOption(task);
    await page.getByRole('button', { name: 'Generate dataset' }).click();
    // Wait for the stored dataset itself (the button may still look enabled right after the click).
    await expect(page.getByTestId('datasets')).toContainText(DATASET_LINE[task], { timeout: 60_000 });
  }
  const list = page.getByTestId('datasets');
  await expect(list).toContainText('Mask -> face (4 x 16px): 4 paired images');
  await expect(list).toContainText('Face -> cartoon (4 x 16px): 4 paired images');
  await expect(list).toContainText('Day / night (unpaired) (4 x 16px), domain A: 4 unpaired images');
  await expect(list).toContainText('Day / night (unpaired) (4 x 16px), domain B: 4 unpaired images');
});

test('a time budget sizes distillation; the report shows the student before training (sliced, refitted) and the steps run', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'backend independent');
  await prepare(page, `backend=${testInfo.project.name}`);
  await configure(page, 0, 10, 1000);
  await advanced(page);
  await page.getByTestId('run-time').fill('4');
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect(page.getByTestId('run').first()).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  const report = page.getByTestId('report');
  await expect(report.getByTestId('compensation-row')).toContainText(/sliced PSNR [\d.]+ dB, SSIM [\d.-]+ → refitted PSNR [\d.]+ dB, SSIM [\d.-]+ \(\d+ convolutions refitted/);
  await expect(report).toContainText(/Distillation\s*\d+ steps, sized to the 4 s time budget \(channels chosen by importance\)/);
});

test('cancel stops a run and discards its checkpoints', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'backend independent');
  await prepare(page, `backend=${testInfo.project.name}`);
  await configure(page, 200, 10, 5);
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect.poll(async () => Number(await page.getByTestId('run-step').textContent().catch(() => '0')), { timeout: 120_000 }).toBeGreaterThanOrEqual(6);
  // The run page: where it is in its stages, and the stage's losses on axes, a line per term.
  await expect(page).toHaveURL(/#\/runs$/);
  await expect(page.getByTestId('run-stepper').locator('li')).toHaveText(['condense', 'prune', 'distill', 'report']);
  await expect(page.getByTestId('run-progress')).toContainText('Stage 1 of 4: condense');
  const chart = page.getByTestId('loss-chart').first();
  await expect(chart).toHaveAttribute('data-stage', 'condense');
  await expect(chart.locator('polyline').first()).toHaveAttribute('points', /^[\d.]+,[\d.]+ [\d.]+,[\d.]+/);
  expect(await chart.locator('text.tick').count()).toBeGreaterThan(3); // axis labels
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('run').first()).toHaveAttribute('data-status', 'cancelled', { timeout: 60_000 });
  expect((await storedCounts(page)).checkpointFiles).toBe(0);
});

test('a run interrupted by a reload resumes from its checkpoint and completes', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'SwiftShader WebGPU is too slow for a 50-step run; the resume path is the same code');
  test.setTimeout(300_000);
  await prepare(page, `backend=${testInfo.project.name}`);
  await configure(page, 40, 10, 5);
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect.poll(async () => Number(await page.getByTestId('run-step').textContent().catch(() => '0')), { timeout: 120_000 }).toBeGreaterThanOrEqual(12);
  await page.reload();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'interrupted', { timeout: 30_000 });
  await run.getByTestId('resume').click();
  // It picks up from the last checkpoint (step 10 or later), not from the start.
  await expect(page.getByTestId('run-progress')).toBeVisible({ timeout: 60_000 });
  const firstStep = Number(await page.getByTestId('run-step').textContent());
  const stage = await page.getByTestId('run-stage').textContent();
  expect(stage === 'distill' || firstStep > 10).toBe(true);
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(run.getByTestId('report')).toBeVisible();
});

test('a lost GPU device stops the run at its checkpoint, the studio says so and switches to WASM, and Resume completes there', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu', 'needs a run on WebGPU');
  test.setTimeout(300_000);
  await prepare(page, 'backend=webgpu&debug=1');
  await configure(page, 30, 6, 3);
  await expect(page.getByTestId('worker-backend')).toContainText('webgpu');
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect.poll(async () => Number(await page.getByTestId('run-step').textContent().catch(() => '0')), { timeout: 120_000 }).toBeGreaterThanOrEqual(4);
  await page.getByTestId('lose-gpu').click();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'failed', { timeout: 60_000 });
  await expect(page.getByTestId('studio-error')).toContainText('The GPU device was lost');
  await expect(page.getByTestId('worker-backend')).toContainText('wasm');
  await run.getByTestId('resume').click();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  await expect(run.getByTestId('report')).toContainText('on wasm');
});

test('on WebGPU, tensors and GPU memory stay flat across a stage', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'webgpu', 'GPU memory is what this checks');
  test.setTimeout(300_000);
  await prepare(page, 'backend=webgpu');
  // The stage every compression runs by default: distillation from cached teacher outputs.
  await configure(page, 0, 60, 1000);
  await page.getByRole('button', { name: 'Compress' }).click();
  const samples: { step: number; tensors: number; gpu: number }[] = [];
  // One sample per progress update seen: wait for the step to change (or the run to end), then
  // read step, tensors and GPU bytes together from the same render.
  let last = -1;
  while (true) {
    await page.waitForFunction(
      (prev) => {
        const step = document.querySelector('[data-testid="run-step"]')?.textContent;
        const status = document.querySelector('[data-testid="run"]')?.getAttribute('data-status');
        return (step != null && Number(step) !== prev) || status === 'done' || status === 'failed';
      },
      last,
      { timeout: 120_000, polling: 50 },
    );
    const now = await page.evaluate(() => {
      const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? 'NaN';
      return { step: Number(text('run-step')), tensors: Number(text('run-tensors')), gpu: Number(text('run-gpu-bytes')) };
    });
    if (Number.isNaN(now.step)) break; // the run ended
    last = now.step;
    if (now.step >= 5) samples.push(now);
    if (now.step >= 55) break;
  }
  expect(samples.length).toBeGreaterThan(5);
  expect(new Set(samples.map((s) => s.tensors)).size).toBe(1);
  // tfjs-webgpu pools buffers by size: a few small buffers come and go between steps (hundreds of
  // bytes), but nothing accumulates: growth stays under 1% overall, and the last 20 steps reach
  // no higher than the 20 before them, give or take 2 KB of that churn.
  const gpu = samples.map((s) => s.gpu);
  expect(Math.min(...gpu)).toBeGreaterThan(0);
  expect(Math.max(...gpu) - Math.min(...gpu)).toBeLessThan(0.01 * Math.min(...gpu));
  const window = (from: number, to: number) => samples.filter((s) => s.step >= from && s.step < to).map((s) => s.gpu);
  expect(Math.max(...window(35, 60))).toBeLessThanOrEqual(Math.max(...window(15, 35)) + 2048);
});
