import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect, test } from '@playwright/test';

/**
 * The build served by a plain static host: no COOP/COEP headers. The service worker adds them
 * (one reload), and a new version is announced, never forced.
 */
const DIST = path.resolve('dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json', '.bin': 'application/octet-stream' };
let server: Server;
/** 2 once the test "deploys" a new version: sw.js and index.html change, nothing else. */
let deployment = 1;
/** Paths the host was asked for. */
const requests: string[] = [];
/** A free port chosen by the OS, so parallel runs on one machine do not collide. */
let PORT = 0;

test.beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, `http://127.0.0.1:${PORT}`);
    let file = path.join(DIST, decodeURIComponent(url.pathname));
    if (!file.startsWith(DIST)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404).end();
    requests.push(url.pathname);
    let body: Buffer | string = readFileSync(file);
    if (deployment === 2 && url.pathname === '/sw.js') {
      body = body.toString().replace(/("version":")\w+/, '$1deployment2').replace(/("url":"\.\/index\.html","revision":")\w+/, '$1deployment2');
    }
    if (deployment === 2 && file.endsWith('index.html')) body = body.toString() + '<!-- deployment 2 -->';
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  PORT = (server.address() as AddressInfo).port;
});

test.afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'backend independent');
});

test('on a host without COOP/COEP headers the service worker makes the page cross-origin isolated; a new version downloads only its changed files and waits for the user', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(`http://127.0.0.1:${PORT}/?backend=wasm`);
  // First visit: not isolated; once the worker controls the page it reloads once, isolated.
  await expect(page.getByTestId('isolated')).toHaveText('yes', { timeout: 60_000 });
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await expect(page.getByTestId('wasm-flags')).toContainText('threads');

  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  deployment = 2;
  requests.length = 0;
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
  await expect(page.getByTestId('update-waiting')).toBeVisible({ timeout: 60_000 });
  // The update downloaded only what changed; every other file came from the previous cache.
  expect(new Set(requests)).toEqual(new Set(['/sw.js', '/index.html']));
  // Announced, not applied: the page was not reloaded under the user.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  await page.getByRole('button', { name: 'Reload to update' }).click();
  await expect(page.getByTestId('update-waiting')).toHaveCount(0, { timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBeUndefined();
});
