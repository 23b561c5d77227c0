/**
 * The app's Benchmark page in Chromium (the production build, served cross-origin isolated by
 * `vite preview`): the shipped face -> cartoon base and its real-time student at 256x256 on
 * tfjs-wasm with one thread per core and with one thread, and on onnxruntime-web likewise, each
 * row measured by the page itself. Prints the page's table as markdown.
 *
 *   npm run build && npx tsx bench/browser-bench.ts [--size 256] [--runs 20] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import config from '../playwright.config';
import { gotoWhenUp, log, withPreview } from './common';

const { values } = parseArgs({ options: { size: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } } });
const size = values.size ?? '256';
const runs = values.runs ?? '20';
const outDir = values.out ?? 'bench/results';
const BACKENDS = ['wasm', 'wasm-1', 'ort', 'ort-1'];

await withPreview(4182, async (origin) => {
  const browser = await chromium.launch(config.use!.launchOptions!);
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await gotoWhenUp(page, `${origin}/?backend=wasm#/benchmark`);
  await page.getByTestId('device-chip').filter({ hasText: 'wasm' }).waitFor({ timeout: 60_000 });
  const flags = (await page.getByTestId('wasm-flags').textContent())?.trim() ?? '';
  await page.getByTestId('bench-model-a').selectOption({ label: 'Face → cartoon base (shipped)' });
  await page.getByTestId('bench-model-b').selectOption({ label: 'Face → cartoon real-time student (shipped)' });
  await page.getByTestId('bench-size').fill(size);
  await page.getByTestId('bench-runs').fill(runs);
  for (const id of ['webgpu', 'webgl', 'cpu', ...BACKENDS]) {
    const box = page.getByTestId(`bench-backend-${id}`);
    if (await box.count()) await box.setChecked(BACKENDS.includes(id));
  }
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  const rows = page.getByTestId('bench-row');
  // Two models on each of the four backends.
  await rows.nth(2 * BACKENDS.length - 1).waitFor({ timeout: 900_000 });
  const table = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
  const userAgent = await page.evaluate(() => navigator.userAgent);
  await browser.close();
  const lines = [
    '# The Benchmark page in Chromium: tfjs-wasm and onnxruntime-web, all threads and one',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${userAgent.match(/(HeadlessChrome|Chrome)\/[\d.]+/)?.[0] ?? userAgent}. Command: \`npm run build && npx tsx bench/browser-bench.ts ${process.argv.slice(2).join(' ')}\`. The production build under \`vite preview\` (cross-origin isolated); ${size}x${size}, ${runs} timed frames per row, as the page measures them. The page's training worker: ${flags}.`,
    '',
    '| backend | model | median | p95 | FPS | MACs | GFLOP/s | speed-up |',
    '|---|---|---|---|---|---|---|---|',
    ...table.map((cells) => `| ${cells.join(' | ')} |`),
    '',
  ];
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'browser-bench.md'), lines.join('\n'));
  log(`wrote ${path.join(outDir, 'browser-bench.md')}`);
  console.log(lines.join('\n'));
});
