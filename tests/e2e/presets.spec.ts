import { expect, test } from '@playwright/test';
import { PRESETS, PRESET_TASKS } from '../../src/core/models/presets';
import { advanced, prepare, show, usePreset } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'SwiftShader WebGPU is too slow for three compressions; the webgpu path is checked in studio.spec');
});

for (const task of PRESET_TASKS) {
  test(`preset ${task}: from Home one click brings the shipped model and generated data; a short compression shows the report, a verdict and held-out samples; Try live opens its pair`, async ({ page }) => {
    test.setTimeout(240_000);
    const preset = PRESETS[task];
    // A newcomer's path: Home -> Compress a model -> a preset -> the run page -> its verdict -> Live.
    await page.goto('/?backend=wasm');
    await page.getByTestId('start-compress').click();
    await expect(page).toHaveURL(/#\/compress$/);
    await usePreset(page, task);
    await expect(page.getByTestId('datasets')).toContainText('(12 x 64px)');
    await expect(page.getByTestId('datasets')).toContainText('11 train, 1 held out');
    await expect(page.getByTestId('preset-info')).toContainText(task === 'unpaired' ? 'final cycle loss' : 'PSNR');
    // The form now points at the preset's data and model; the goal stays the quick look. Shorten the run for the test.
    await expect(page.getByTestId('run-settings')).toHaveText('Quick look: macs=0.25 · 60 s');
    await advanced(page);
    await page.getByTestId('run-time').fill('');
    await page.getByTestId('run-condense').fill('3');
    await page.getByTestId('run-distill').fill('3');
    await page.getByRole('button', { name: 'Compress' }).click();
    const run = page.getByTestId('run').first();
    await expect(run).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
    await expect(run.getByTestId('report')).toContainText('fewer');
    // A verdict in words; unless the student is already close, it says 3 distillation steps are far too few.
    const verdict = (await run.getByTestId('verdict').textContent())!;
    expect(verdict).toMatch(/\(\d+\.\d dB\)/);
    if (!verdict.startsWith('Close to the original')) expect(verdict).toContain('Only 3 distillation steps ran');
    const grid = run.getByTestId('sample-grid');
    await grid.getByTestId('enlarge-samples').click();
    await expect(grid.locator('img').first()).toHaveCSS('width', '256px');
    const columns = task === 'unpaired' ? ['input', 'original', 'compressed'] : ['input', 'target', 'original', 'compressed'];
    await expect(grid.locator('thead th')).toHaveText(['', ...columns]);
    const sizes = await grid.locator('img').evaluateAll((imgs) => Promise.all(imgs.map(async (i) => (await (i as HTMLImageElement).decode(), (i as HTMLImageElement).naturalWidth))));
    expect(sizes).toEqual(columns.map(() => preset.size));
    // Before/after on the held-out image: the slider moves the boundary between the two outputs.
    const original = run.getByTestId('before-after-original');
    await expect(original).toHaveCSS('clip-path', 'inset(0px 50% 0px 0px)');
    await run.getByTestId('before-after-slider').fill('80');
    await expect(original).toHaveCSS('clip-path', 'inset(0px 20% 0px 0px)');
    await run.getByTestId('try-live-run').click();
    await expect(page).toHaveURL(/#\/live$/);
    await expect(page.getByTestId('live-original').locator('option:checked')).toHaveText(`${preset.label} base (shipped) (preset)`);
    await expect(page.getByTestId('live-compressed').locator('option:checked')).toHaveText(`${(await run.getByTestId('name').first().textContent())!} (student)`);
    await expect(page.getByTestId('live-mode')).toHaveValue('split');
  });
}

test('a CycleGAN trains in the studio on the two unpaired domains and becomes a base model', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await page.getByTestId('demo-task').selectOption('unpaired');
  await page.getByLabel('Pairs').fill('8');
  await page.getByLabel('Size', { exact: true }).fill('16');
  await page.getByRole('button', { name: 'Generate dataset' }).click();
  await expect(page.getByTestId('datasets').locator('li')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('cyclegan-a').locator('option:checked')).toContainText('domain A');
  await expect(page.getByTestId('cyclegan-b').locator('option:checked')).toContainText('domain B');
  await page.getByTestId('cyclegan-ngf').fill('4');
  await page.getByTestId('cyclegan-blocks').fill('1');
  await page.getByTestId('cyclegan-size').fill('16');
  await page.getByTestId('cyclegan-steps').fill('4');
  await page.getByRole('button', { name: 'Train CycleGAN' }).click();
  await expect(page.getByTestId('models')).toContainText(/CycleGAN A -> B, ngf=4, 1 blocks, 4 steps \(cycle loss \d\.\d{3}\)/, { timeout: 60_000 });
  await expect(page.getByTestId('run-model').locator('option:checked')).toContainText('CycleGAN');
});

test('the train job trains a base model on a paired dataset and shows its held-out quality and samples', async ({ page }) => {
  await prepare(page, 'backend=wasm');
  await page.getByTestId('run-job').selectOption('train');
  await page.getByTestId('run-train').fill('4');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(run.getByTestId('trained-quality')).toContainText(/PSNR \d+\.\d\d dB/);
  await expect(run.getByTestId('sample-grid').locator('thead th')).toHaveText(['', 'input', 'target', 'trained']);
  await expect(page.getByTestId('models')).toContainText(/shapes · training · \d\d:\d\d \(trained, /);
});

test('an FPS budget reports target vs achieved; an unreachable one fails with how fast the smallest model runs', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto('/?backend=wasm#/compress');
  await usePreset(page, 'face-to-cartoon');
  await advanced(page);
  await page.getByTestId('run-time').fill('');
  await page.getByTestId('run-condense').fill('2');
  await page.getByTestId('run-distill').fill('2');
  await page.getByTestId('run-budget').fill('fps=1@64');
  await page.getByRole('button', { name: 'Compress' }).click();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  // Whatever this machine's speed, the verdict must agree with the figures it shows.
  const row = run.getByTestId('fps-row');
  await expect(row).toContainText(/FPS at 64px.*target 1: original [\d.]+, compressed [\d.]+ — (met|NOT met)/);
  const [, compressed, verdict] = /compressed ([\d.]+) — (met|NOT met)/.exec((await row.textContent())!)!;
  // (The figure is shown to 0.1 FPS.)
  if (verdict === 'met') expect(Number(compressed)).toBeGreaterThanOrEqual(0.95);
  else expect(Number(compressed)).toBeLessThan(1.05);

  // 1000 FPS (the most a budget may ask) at 256 px: out of reach on any CPU (the unit tests check
  // the unreachable path exactly with a cost model; here the studio must show either outcome
  // consistently with what was measured).
  await show(page, 'compress');
  await page.getByTestId('run-budget').fill('fps=1000@256');
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect(page.getByTestId('run')).toHaveCount(2, { timeout: 30_000 }); // newest first
  const second = page.getByTestId('run').first();
  await expect(second).toHaveAttribute('data-status', /failed|done/, { timeout: 120_000 });
  if ((await second.getAttribute('data-status')) === 'failed') {
    const text = (await second.textContent())!;
    expect(text).toMatch(/1000 FPS at 256x256 is out of reach on (wasm|onnxruntime-web wasm, \d+ threads?): the smallest model pruning can make \([\d.]+% of the MACs\) runs at [\d.]+ FPS here/);
    expect(Number(/runs at ([\d.]+) FPS here/.exec(text)![1])).toBeLessThan(1000 * 1.05);
  } else {
    await expect(second.getByTestId('fps-row')).toContainText(/target 1000: .* — met/);
  }
});
