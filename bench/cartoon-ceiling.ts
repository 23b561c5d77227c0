/**
 * What PSNR against the cartoon filter a model can get without learning each part of it, on the
 * held-out photos (the face -> cartoon target on photographs): the photo itself, the filter
 * without its outlines, with near-hard band steps, without its brightness bands (smoothing +
 * outlines only), and the filter of the photo with small per-pixel noise (how stable the target
 * is: webcam frames are noisy). Pure arithmetic, no model.
 *
 *   npx tsx bench/cartoon-ceiling.ts [--photos scratch/photos] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cartoonize } from '../src/core/data/cartoon';
import type { RawImage } from '../src/core/data/dataset';
import { centreSquare } from '../src/core/data/photo-augment';
import { Rng } from '../src/core/train/rng';
import { log } from './common';
import { readPhotoSources } from './fetch-photos';
import { readPhotos } from './photo-data';

const { values } = parseArgs({ options: { photos: { type: 'string' }, out: { type: 'string' } } });
const dir = values.photos ?? 'scratch/photos';
const outDir = values.out ?? 'bench/results';

/** PSNR in dB over RGB (0..255), as src/core/measure/quality.ts computes it per image. */
function psnr(a: RawImage, b: RawImage): number {
  let sum = 0;
  const n = a.width * a.height;
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) sum += (a.data[i * a.channels + k] - b.data[i * b.channels + k]) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / (n * 3)));
}

function withNoise(img: RawImage, amplitude: number, rng: Rng): RawImage {
  return { ...img, data: Uint8Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(v + rng.range(-amplitude, amplitude))))) };
}

const candidates: [string, (photo: RawImage) => RawImage][] = [
  ['the photo itself', (p) => p],
  ['the filter without its outlines', (p) => cartoonize(p, { edgeThreshold: 2 })], // no Sobel magnitude reaches 0.6 x 2
  ['the filter with near-hard band steps (bandSharpness 3)', (p) => cartoonize(p, { bandSharpness: 3 })],
  ['the filter without its brightness bands (smoothing + outlines)', (p) => cartoonize(p, { levels: 256 })],
  ['the filter of the photo + uniform noise ±2 grey levels', (p) => cartoonize(withNoise(p, 2, new Rng(1)))],
  ['the filter of the photo + uniform noise ±7 grey levels', (p) => cartoonize(withNoise(p, 7, new Rng(1)))],
];

const photos = readPhotos(dir, readPhotoSources(dir).heldOut);
const sizes = [64, 256];
const rows = candidates.map(([label, make]) => {
  const dB = sizes.map((size) => {
    const values = photos.map((p) => {
      const square = centreSquare(p, size);
      return psnr(cartoonize(square), make(square));
    });
    return values.reduce((s, v) => s + v, 0) / values.length;
  });
  log(`${label}: ${dB.map((d, i) => `${sizes[i]} px ${d.toFixed(2)} dB`).join(', ')}`);
  return `| ${label} | ${dB.map((d) => d.toFixed(2)).join(' | ')} |`;
});
const md = [
  '# PSNR against the cartoon filter without learning each part of it',
  '',
  `${new Date().toISOString().slice(0, 10)}. Command: \`${['npx tsx bench/cartoon-ceiling.ts', ...process.argv.slice(2)].join(' ')}\`. The ${photos.length} held-out photos' centre squares; mean over photos of each one's PSNR (as the model evaluations report it).`,
  '',
  `| output | ${sizes.map((s) => `${s} px`).join(' | ')} |`,
  `|---|${sizes.map(() => '---').join('|')}|`,
  ...rows,
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'cartoon-ceiling.md'), md);
log(`wrote ${path.join(outDir, 'cartoon-ceiling.md')}`);
