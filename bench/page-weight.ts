/**
 * What a first visit downloads: the built app (npm run build) served by vite preview, Home opened
 * in a fresh headless Chromium profile, every response until the page is idle and the device chip
 * shows the backend (the workers start tfjs for it), summed by kind. Then Live and Compress are
 * opened in the same page: what they add. Writes bench/results/page-weight.md.
 *
 *   npm run build && npx tsx bench/page-weight.ts
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from '@playwright/test';
import config from '../playwright.config';
import { gotoWhenUp, log, withPreview } from './common';

type Entry = { url: string; bytes: number };

/** Body bytes (decoded) of each URL the page and its workers receive while `act` runs and until it is idle (a URL fetched twice counts once). */
async function received(page: Page, act: () => Promise<unknown>): Promise<Entry[]> {
  const entries: Promise<Entry>[] = [];
  const onResponse = (r: import('@playwright/test').Response) => {
    if (!r.url().startsWith('blob:')) entries.push(r.body().then((b) => ({ url: r.url(), bytes: b.byteLength }), () => ({ url: r.url(), bytes: 0 })));
  };
  page.on('response', onResponse);
  await act();
  await page.waitForLoadState('networkidle');
  page.off('response', onResponse);
  return [...new Map((await Promise.all(entries)).map((e) => [e.url, e])).values()];
}

const kind = (url: string) => {
  const p = new URL(url).pathname;
  if (p.endsWith('.wasm')) return 'wasm';
  if (/\.(js|mjs)$/.test(p)) return /^\/assets\/index-/.test(p) ? 'page script' : 'worker scripts (tfjs, onnxruntime, glue)';
  if (p.endsWith('.css')) return 'css';
  if (p === '/' || p.endsWith('.html')) return 'html';
  if (/\.(bin|json|onnx)$/.test(p)) return 'models and data';
  if (/\.(png|jpg|svg|webp)$/.test(p)) return 'images';
  return 'other';
};
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

function table(title: string, entries: Entry[]): string[] {
  const byKind = new Map<string, { n: number; bytes: number }>();
  for (const e of entries) {
    const k = byKind.get(kind(e.url)) ?? { n: 0, bytes: 0 };
    byKind.set(kind(e.url), { n: k.n + 1, bytes: k.bytes + e.bytes });
  }
  const total = entries.reduce((a, e) => a + e.bytes, 0);
  const largest = [...entries].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  return [
    `### ${title}: ${entries.length} responses, ${kib(total)}`,
    '',
    '| kind | responses | bytes |',
    '|---|---|---|',
    ...[...byKind].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => `| ${k} | ${v.n} | ${kib(v.bytes)} |`),
    '',
    `Largest: ${largest.map((e) => `\`${new URL(e.url).pathname}\` ${kib(e.bytes)}`).join(', ')}.`,
    '',
  ];
}

await withPreview(4185, async (origin) => {
  const browser = await chromium.launch(config.use!.launchOptions!);
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const home = await received(page, async () => {
    await gotoWhenUp(page, `${origin}/?backend=wasm`);
    await page.getByTestId('device-chip').filter({ hasText: 'wasm' }).waitFor({ timeout: 60_000 });
  });
  log(`home: ${home.length} responses, ${kib(home.reduce((a, e) => a + e.bytes, 0))}`);
  const live = await received(page, () => page.locator('header a[href="#/live"]').click());
  const compress = await received(page, () => page.locator('header a[href="#/compress"]').click());
  await browser.close();
  const md = [
    '# What a first visit downloads',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus()[0].model.trim()}, headless Chromium (${path.basename(config.use!.launchOptions!.executablePath ?? 'chromium')}), the production build served by vite preview. Command: \`npm run build && npx tsx bench/page-weight.ts\`. Decoded body bytes of each URL the page and its workers fetched (vite preview gzips text on the fly, so fewer bytes cross the wire for scripts), a fresh profile: nothing cached; the service worker installs during the visit and precaches the rest of the build in the background, which is not counted here.`,
    '',
    ...table('Home, until the device chip shows the backend', home),
    ...table('then Live (what it adds)', live),
    ...table('then Compress (what it adds)', compress),
  ].join('\n');
  const file = path.join('bench', 'results', 'page-weight.md');
  writeFileSync(file, md);
  log(`wrote ${file}`);
});
