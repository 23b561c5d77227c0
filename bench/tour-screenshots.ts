/**
 * The README tour's studio screenshots from a real run (not a test's few steps): the face -> cartoon
 * preset (shipped base, 160 generated pairs at 64 px) compressed in the page with a goal of the
 * Compress page (--goal quick: macs=0.25 in 60 s; good: macs=0.1 in 600 s) on wasm in headless
 * Chromium. Saves the preset form, the run in progress (about a third of the way) and the finished
 * run, then each page of the studio at 1366x768 with that run in it.
 *
 *   npm run build && npx tsx bench/tour-screenshots.ts [--goal good] [--out docs/screenshots]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import config from '../playwright.config';
import { gotoWhenUp, log, withPreview } from './common';

const { values } = parseArgs({ options: { goal: { type: 'string' }, out: { type: 'string' } } });
const goal = values.goal ?? 'good';
if (goal !== 'quick' && goal !== 'good') throw new Error(`--goal is quick or good, got '${goal}'`);
const out = values.out ?? path.join('docs', 'screenshots');

await withPreview(4183, async (origin) => {
  const browser = await chromium.launch(config.use!.launchOptions!);
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await gotoWhenUp(page, `${origin}/?backend=wasm#/compress`);
  await page.getByTestId('device-chip').filter({ hasText: 'wasm' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('preset-task').selectOption('face-to-cartoon');
  await page.getByRole('button', { name: 'Use preset' }).click();
  await page.getByTestId('models').getByText('Face → cartoon base (shipped)').first().waitFor({ timeout: 120_000 });
  await page.locator('section[aria-label="Studio"] .busy').first().waitFor({ state: 'detached', timeout: 120_000 });
  // Element screenshots scroll; a sticky header would be drawn over their top edge.
  await page.addStyleTag({ content: 'header { position: static !important; }' });
  await page.getByTestId('preset-form').screenshot({ path: path.join(out, 'preset.png'), animations: 'disabled' });
  await page.getByTestId(`goal-${goal}`).check();
  await page.getByRole('button', { name: 'Compress' }).click();
  const run = page.getByTestId('run').first();
  // A third of the way through distillation, the progress as it stands.
  const progress = page.getByTestId('run-progress');
  await progress.waitFor({ timeout: 120_000 });
  for (;;) {
    const [, step, steps] = /distill step (\d+) \/ (\d+)/.exec((await progress.textContent().catch(() => '')) ?? '') ?? [];
    if ((step && Number(step) >= Number(steps) / 3) || (await run.getAttribute('data-status')) === 'done') break;
    await page.waitForTimeout(500);
  }
  if (await progress.isVisible()) await progress.screenshot({ path: path.join(out, 'progress.png'), animations: 'disabled' });
  await page.locator('[data-testid="run"][data-status="done"]').first().waitFor({ timeout: 1_800_000 });
  await run.screenshot({ path: path.join(out, 'results.png'), animations: 'disabled' });
  log(`wrote preset.png, progress.png, results.png to ${out}; the report: ${(await run.getByTestId('report').textContent())?.replace(/\s+/g, ' ').trim()}`);
  // Each page as a laptop screen shows it, with this run in the studio.
  await page.setViewportSize({ width: 1366, height: 768 });
  for (const name of ['home', 'compress', 'runs', 'models', 'live', 'benchmark', 'storage', 'device']) {
    await page.goto(`${origin}/?backend=wasm#/${name}`);
    await page.getByTestId('device-chip').filter({ hasText: 'wasm' }).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000); // lists read from IndexedDB
    await page.screenshot({ path: path.join(out, `page-${name}.png`), animations: 'disabled' });
  }
  log(`wrote page-*.png (1366x768) to ${out}`);
  await browser.close();
});
