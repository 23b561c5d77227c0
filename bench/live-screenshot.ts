/**
 * The Live demo on a real face: Chromium's fake camera plays a held-out photograph (never used in
 * training; fetched by bench/fetch-photos.ts) slowly zoomed as a 640x480 video, the app shows the
 * shipped face -> cartoon models at 256 px on wasm (runtime: auto, the faster of tfjs and
 * onnxruntime-web measured at start) — the real-time student, the base, or both side by side —
 * and the Live section is saved as a screenshot with the FPS and latency the page reports.
 *
 *   npm run build && npx tsx bench/live-screenshot.ts [--photo python3-skimage__astronaut.png]
 *     [--show compressed|original|split] [--photos scratch/photos]
 *     [--out docs/screenshots/live-real-face.png] [--seconds 20]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import config from '../playwright.config';
import { readPhotos } from './photo-data';
import { fakeCameraLaunchOptions, writeY4m } from '../tests/e2e/fake-camera';
import { gotoWhenUp, log, withPreview } from './common';

const { values } = parseArgs({ options: { photo: { type: 'string' }, show: { type: 'string' }, photos: { type: 'string' }, out: { type: 'string' }, seconds: { type: 'string' } } });
const photos = values.photos ?? 'scratch/photos';
const [photo] = readPhotos(photos, [values.photo ?? 'python3-skimage__astronaut.png']);
const out = values.out ?? path.join('docs', 'screenshots', 'live-real-face.png');
const [W, H, FRAMES] = [640, 480, 60];

// A slow zoom towards the centre and back: the face stays in view, as in a video call.
const video = writeY4m('real-face', W, H, 15, FRAMES, (f, x, y) => {
  const zoom = 1 + 0.25 * Math.sin((Math.PI * f) / FRAMES);
  const scale = Math.min(photo.width / W, photo.height / H) / zoom;
  const sx = Math.min(photo.width - 1, Math.max(0, Math.round(photo.width / 2 + (x - W / 2) * scale)));
  const sy = Math.min(photo.height - 1, Math.max(0, Math.round(photo.height / 2 + (y - H / 2) * scale)));
  const o = (sy * photo.width + sx) * photo.channels;
  return [photo.data[o], photo.data[o + 1], photo.data[o + 2]];
});

await withPreview(4181, async (origin) => {
  const browser = await chromium.launch({ ...config.use!.launchOptions!, ...fakeCameraLaunchOptions(video) });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await gotoWhenUp(page, `${origin}/?backend=wasm#/live`);
  await page.getByTestId('device-chip').filter({ hasText: 'wasm' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('live-original').selectOption({ label: 'Face → cartoon base (shipped)' });
  await page.getByTestId('live-compressed').selectOption({ label: 'Face → cartoon real-time student (shipped)' });
  await page.getByTestId('live-mode').selectOption(values.show ?? 'compressed');
  await page.getByTestId('live-size').fill('256');
  await page.getByTestId('live-start').click();
  await page.waitForTimeout(Number(values.seconds ?? 20) * 1000);
  const stats = await page.getByTestId('live-stats').textContent();
  await page.locator('section[aria-label="Live demo"]').screenshot({ path: out });
  log(`wrote ${out}; the page said: ${stats?.replace(/\s+/g, ' ').trim()}`);
  await browser.close();
});
