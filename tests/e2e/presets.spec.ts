import { expect, test } from '@playwright/test';
import { PRESETS, PRESET_TASKS } from '../../src/core/models/presets';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'SwiftShader WebGPU is too slow for three compressions; the webgpu path is checked in studio.spec');
});

for (const task of PRESET_TASKS) {
  test(`preset ${task}: one click brings the shipped model and generated data; a short compression shows the report and held-out samples`, async ({ page }) => {
    test.setTimeout(240_000);
    const preset = PRESETS[task];
    await page.goto('/?backend=wasm');
    await page.getByTestId('preset-task').selectOption(task);
    await page.getByTestId('preset-images').fill('12');
    await page.getByRole('button', { name: 'Use preset' }).click();
    await expect(page.getByTestId('models')).toContainText(`${preset.label} base (shipped)`, { timeout: 60_000 });
    await expect(page.getByTestId('datasets')).toContainText('(12 x 64px)');
    await expect(page.getByTestId('datasets')).toContainText('11 train, 1 held out');
    await expect(page.getByTestId('preset-info')).toContainText(task === 'unpaired' ? 'final cycle loss' : 'PSNR');
    // The form now points at the preset; shorten the run for the test.
    await expect(page.getByTestId('run-budget')).toHaveValue(preset.compress.budget);
    await page.getByTestId('run-condense').fill('3');
    await page.getByTestId('run-distill').fill('3');
    await page.getByRole('button', { name: 'Compress' }).click();
    const run = page.getByTestId('run').first();
    await expect(run).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
    await expect(run.getByTestId('report')).toContainText('fewer');
    const grid = run.getByTestId('sample-grid');
    const columns = task === 'unpaired' ? ['input', 'original', 'compressed'] : ['input', 'target', 'original', 'compressed'];
    await expect(grid.locator('thead th')).toHaveText(['', ...columns]);
    const sizes = await grid.locator('img').evaluateAll((imgs) => Promise.all(imgs.map(async (i) => (await (i as HTMLImageElement).decode(), (i as HTMLImageElement).naturalWidth))));
    expect(sizes).toEqual(columns.map(() => preset.size));
  });
}
