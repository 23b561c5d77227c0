import { expect, test } from '@playwright/test';
import { addTinyDataAndModel, advanced, configure, usePreset, benchOnly, show } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'names and pickers do not depend on the backend');
});

test('pickers keep their model when the list changes; runs and models are named from what they are and can be renamed', async ({ page }) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A newcomer's path: Home -> Compress a model.
  await page.goto('/?backend=wasm');
  await page.getByTestId('start-compress').click();
  await expect(page).toHaveURL(/#\/compress$/);
  // The goal card: a newcomer picks what they want; the detailed settings stay folded under Advanced.
  await expect(page.getByTestId('goal-quick')).toBeChecked();
  await expect(page.getByTestId('run-settings')).toHaveText('Quick look: macs=0.25 · 60 s');
  await expect(page.getByTestId('run-budget')).toBeHidden();
  await page.getByTestId('goal-good').check();
  await expect(page.getByTestId('run-settings')).toHaveText('Good student: macs=0.1 · 600 s');
  await page.getByTestId('goal-fps').check();
  await page.getByTestId('goal-fps-value').fill('24');
  await page.getByTestId('goal-fps-value').dispatchEvent('change');
  await expect(page.getByTestId('run-settings')).toHaveText('Frame rate: fps=24@256 · 300 s');
  await advanced(page);
  await expect(page.getByTestId('run-budget')).toHaveValue('fps=24@256');
  await page.getByTestId('run-time').fill('301');
  await expect(page.getByTestId('run-settings')).toHaveText('Custom settings: fps=24@256 · 301 s');
  await expect(page.getByTestId('run-goal').locator('input[type=radio]:checked')).toHaveCount(0);
  await page.getByTestId('goal-quick').check();
  const liveOriginal = page.getByTestId('live-original');
  await expect(liveOriginal.locator('option:checked')).toHaveText('Face → cartoon base (shipped)');
  // Storing the preset replaces the shipped entry by the stored copy: the pickers follow it (they used to go blank).
  await usePreset(page, 'face-to-cartoon');
  await expect(liveOriginal.locator('option:checked')).toHaveText('Face → cartoon base (shipped) (preset)');
  await expect(page.getByTestId('bench-model-a').locator('option:checked')).toHaveText('Face → cartoon base (shipped) (preset)');
  await show(page, 'live');
  await liveOriginal.focus(); // the old refresh-on-focus path keeps it too
  await expect(liveOriginal.locator('option:checked')).toHaveText('Face → cartoon base (shipped) (preset)');
  await show(page, 'compress');

  // A quick run on a tiny model and 16-px data of the shapes task (a preset's run takes minutes here).
  await addTinyDataAndModel(page, 1);
  await configure(page, 0, 2, 10);
  await page.getByTestId('run-time').fill('');
  // A typo in the budget is refused by the spec's schema before anything runs or is stored.
  await page.getByTestId('run-budget').fill('macs=2');
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect(page.getByTestId('studio-error')).toHaveText('The form is not a valid run spec: budget: A macs budget is the fraction to keep, in (0, 1]; got 2');
  await expect(page.getByTestId('run')).toHaveCount(0);
  await page.getByTestId('run-budget').fill('macs=0.5');
  await page.getByRole('button', { name: 'Compress' }).click();
  const run = page.getByTestId('run').first();
  await expect(run).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  const name = run.getByTestId('name').first();
  await expect(name).toHaveText(/^shapes · macs 0\.5 · \d\d:\d\d$/);
  const runName = (await name.textContent())!;
  // The student is in Live's compressed picker without a click, named as its run.
  await expect(page.getByTestId('live-compressed').locator('option:checked')).toHaveText(`${runName} (student)`);
  // From the run to Live: its original and its student side by side; Back returns to the run.
  await run.getByTestId('try-live-run').click();
  await expect(page).toHaveURL(/#\/live$/);
  await expect(page.getByTestId('live-original').locator('option:checked')).toHaveText('resnet ngf=4 depth=1 (zoo)');
  await expect(page.getByTestId('live-compressed').locator('option:checked')).toHaveText(`${runName} (student)`);
  await expect(page.getByTestId('live-mode')).toHaveValue('split');
  await page.goBack();
  await expect(page).toHaveURL(/#\/runs$/);
  // From the run to Models: its original next to its student, layer by layer.
  await run.getByTestId('show-models-run').click();
  await expect(page).toHaveURL(/#\/models$/);
  await expect(page.getByTestId('models-model').locator('option:checked')).toHaveText('resnet ngf=4 depth=1 (zoo)');
  await expect(page.getByTestId('models-pruned').locator('option:checked')).toHaveText(`${runName} (student)`);
  await expect(page.getByTestId('models-summary')).toContainText(/keeps\s+\d+ of \d+ convolution channels/);
  await page.goBack();
  await expect(page).toHaveURL(/#\/runs$/);
  // From the run to Benchmark: its original next to its student.
  await run.getByTestId('benchmark-run').click();
  await expect(page).toHaveURL(/#\/benchmark$/);
  await expect(page.getByTestId('bench-model-a').locator('option:checked')).toHaveText('resnet ngf=4 depth=1 (zoo)');
  await expect(page.getByTestId('bench-model-b').locator('option:checked')).toHaveText(`${runName} (student)`);
  await page.goBack();
  await expect(page).toHaveURL(/#\/runs$/);

  await run.getByTestId('rename').first().click();
  await run.getByTestId('rename-input').fill('  ');
  await run.getByTestId('rename-input').press('Enter');
  await expect(run.getByRole('alert')).toHaveText('A name cannot be empty');
  await run.getByTestId('rename-input').fill('my shapes, 2 steps');
  await run.getByTestId('rename-input').press('Enter');
  await expect(run.getByTestId('name').first()).toHaveText('my shapes, 2 steps');
  await show(page, 'compress');
  const student = page.getByTestId('models').locator('li', { hasText: `${runName} (student` });
  await student.getByTestId('rename').click();
  // While edited, the line shows a field instead of the name.
  const field = page.getByTestId('models').getByTestId('rename-input');
  await field.fill('shapes for the demo');
  await field.press('Enter');
  await expect(page.getByTestId('live-compressed').locator('option:checked')).toHaveText('shapes for the demo (student)');
  await page.reload();
  await expect(page.getByTestId('run').first().getByTestId('name').first()).toHaveText('my shapes, 2 steps');
  await expect(page.getByTestId('models')).toContainText('shapes for the demo (student');

  // Benchmark of the original next to its student: a speed-up column and a legend naming both.
  await show(page, 'benchmark');
  await page.getByTestId('bench-model-a').selectOption({ label: 'resnet ngf=4 depth=1 (zoo)' });
  await page.getByTestId('bench-model-b').selectOption({ label: 'shapes for the demo (student)' });
  await page.getByTestId('bench-size').fill('16');
  await page.getByTestId('bench-runs').fill('2');
  await benchOnly(page, 'wasm');
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  await expect(page.getByTestId('bench-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('bench-speedup').nth(0)).toHaveText('');
  await expect(page.getByTestId('bench-speedup').nth(1)).toHaveText(/^\d+\.\d\dx$/);
  await expect(page.getByTestId('bench-legend')).toContainText('resnet ngf=4 depth=1 (zoo)');
  await expect(page.getByTestId('bench-legend')).toContainText('shapes for the demo (student)');
  // Bars in the legend's two colours, and a line of 2 timed frames per row in the per-frame chart.
  const fills = await page.getByTestId('bench-chart').locator('rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('fill')));
  expect(new Set(fills).size).toBe(2);
  await expect(page.getByTestId('bench-frames').locator('polyline')).toHaveCount(2);
  expect(errors).toEqual([]);
});
