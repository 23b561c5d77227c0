/**
 * Photographs fetched by bench/fetch-photos.ts as face -> cartoon data: random webcam-like views
 * of the training photos (targets: the cartoon filter of each view), and the held-out photos'
 * centre squares at any size for evaluation. Training time only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../src/cli/images';
import { cartoonize } from '../src/core/data/cartoon';
import { ImageDataset, type RawImage } from '../src/core/data/dataset';
import { augmentPhoto, centreSquare } from '../src/core/data/photo-augment';
import { predictAll, quality, type QualityPair } from '../src/core/measure/quality';
import { Rng } from '../src/core/train/rng';
import { readPhotoSources } from './fetch-photos';

export function readPhotos(dir: string, files: string[]): RawImage[] {
  return files.map((f) => decodeImage(f, new Uint8Array(readFileSync(path.join(dir, f)))));
}

/** `count` random views of the photos at `size` px, each paired with its cartoon. */
export function photoPairs(photos: RawImage[], count: number, size: number, seed: number): { inputs: RawImage[]; targets: RawImage[] } {
  const rng = new Rng(seed);
  const inputs: RawImage[] = [];
  const targets: RawImage[] = [];
  for (let i = 0; i < count; i++) {
    const view = { ...augmentPhoto(photos[i % photos.length], size, rng), name: `photo-${i}` };
    inputs.push(view);
    targets.push(cartoonize(view));
  }
  return { inputs, targets };
}

/** Held-out photos (never trained on) at `size`: centre square in, cartoon filter of it as target. */
export function heldOutPhotoSet(dir: string, size: number): ImageDataset {
  const { heldOut } = readPhotoSources(dir);
  const squares = readPhotos(dir, heldOut).map((p) => centreSquare(p, size));
  return ImageDataset.fromImages(squares, squares.map((s) => cartoonize(s)), size, '-1,1');
}

/** PSNR/SSIM against the cartoon filter on the held-out photos, at each size. */
export async function photoQuality(model: tf.LayersModel, dir: string, sizes: number[]): Promise<Record<string, QualityPair>> {
  const out: Record<string, QualityPair> = {};
  for (const size of sizes) {
    const set = heldOutPhotoSet(dir, size);
    const predicted = predictAll(model, set.inputs, 1);
    out[`${size}px`] = await quality(predicted, set.targets!, 2);
    predicted.dispose();
    set.dispose();
  }
  return out;
}
