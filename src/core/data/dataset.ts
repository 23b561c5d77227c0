/**
 * Datasets as the core sees them: images already decoded to RGB(A) bytes, turned into NHWC float
 * tensors in the range the model expects. The range is always explicit (part of the run spec or
 * the model's metadata), never guessed.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../train/rng';

export type InputRange = '-1,1' | '0,1' | '0,255';
export const INPUT_RANGES: readonly InputRange[] = ['-1,1', '0,1', '0,255'];

export function parseRange(text: string): InputRange {
  const t = text.replace(/\s/g, '') as InputRange;
  if (!INPUT_RANGES.includes(t)) throw new Error(`Input range '${text}' is not one of ${INPUT_RANGES.join(', ')}`);
  return t;
}

/** Width of the range (2 for [-1, 1]), the data range PSNR and SSIM need. */
export function rangeWidth(range: InputRange): number {
  return range === '-1,1' ? 2 : range === '0,1' ? 1 : 255;
}

/** A decoded image: `channels` interleaved bytes per pixel, row-major. */
export interface RawImage {
  name: string;
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Bytes [0, 255] to the model's range. */
export function fromBytes(x: tf.Tensor, range: InputRange): tf.Tensor {
  if (range === '0,255') return x;
  if (range === '0,1') return tf.div(x, 255);
  return tf.sub(tf.div(x, 127.5), 1);
}

/** The model's range back to bytes [0, 255] (clipped). */
export function toBytes(x: tf.Tensor, range: InputRange): tf.Tensor {
  const scaled = range === '0,255' ? x : range === '0,1' ? tf.mul(x, 255) : tf.mul(tf.add(x, 1), 127.5);
  return tf.clipByValue(scaled, 0, 255);
}

/**
 * One image as a [size, size, C] float tensor in the model's range: centre-cropped to a square
 * and resized (bilinear) to `size`. Keeps RGB (drops alpha) unless `channels` says otherwise.
 */
export function imageTensor(img: RawImage, size: number, range: InputRange, channels = 3): tf.Tensor3D {
  return tf.tidy(() => {
    if (img.channels < channels) {
      throw new Error(`${img.name}: has ${img.channels} channels, the model needs ${channels}`);
    }
    let t = tf.tensor3d(img.data, [img.height, img.width, img.channels], 'int32').toFloat();
    if (img.channels !== channels) t = tf.slice(t, [0, 0, 0], [img.height, img.width, channels]);
    const side = Math.min(img.width, img.height);
    const top = Math.floor((img.height - side) / 2);
    const left = Math.floor((img.width - side) / 2);
    if (side !== img.width || side !== img.height) t = tf.slice(t, [top, left, 0], [side, side, channels]);
    if (side !== size) t = tf.image.resizeBilinear(t, [size, size], false, true);
    return fromBytes(t, range) as tf.Tensor3D;
  });
}

/**
 * An in-memory image dataset: inputs and (for paired data) targets as [N, size, size, C] tensors.
 * Batches are drawn with a seeded Rng so runs are reproducible and resumable.
 */
export class ImageDataset {
  /** Number of images. */
  readonly length: number;

  constructor(
    readonly inputs: tf.Tensor4D,
    readonly targets: tf.Tensor4D | null,
    readonly range: InputRange,
    readonly names: string[],
  ) {
    if (targets && targets.shape[0] !== inputs.shape[0]) {
      throw new Error(`Dataset has ${inputs.shape[0]} inputs but ${targets.shape[0]} targets`);
    }
    this.length = inputs.shape[0];
  }

  get paired(): boolean {
    return this.targets !== null;
  }

  /** Builds a dataset from decoded images (targets matched by position). */
  static fromImages(inputs: RawImage[], targets: RawImage[] | null, size: number, range: InputRange, inChannels = 3, outChannels = 3): ImageDataset {
    if (inputs.length === 0) throw new Error('The dataset has no images');
    const stack = (imgs: RawImage[], c: number) => tf.tidy(() => tf.stack(imgs.map((i) => imageTensor(i, size, range, c))) as tf.Tensor4D);
    return new ImageDataset(stack(inputs, inChannels), targets ? stack(targets, outChannels) : null, range, inputs.map((i) => i.name));
  }

  /**
   * A random batch (with replacement). Per sample, optionally flipped left-right and, when the
   * images are stored larger than `crop`, cut at a random offset to `crop` pixels (pix2pix's
   * "resize, then random crop" jitter). Input and target get the same flip and offset.
   */
  batch(rng: Rng, batchSize: number, flip = false, crop?: number): { x: tf.Tensor4D; y: tf.Tensor4D | null } {
    const idx = Array.from({ length: batchSize }, () => rng.int(this.length));
    const flips = idx.map(() => flip && rng.next() < 0.5);
    const side = this.inputs.shape[1];
    const c = Math.min(crop ?? side, side);
    const offsets = c < side ? idx.map(() => [rng.int(side - c + 1), rng.int(side - c + 1)]) : null;
    const pick = (t: tf.Tensor4D) =>
      tf.tidy(() => {
        let b = tf.gather(t, idx) as tf.Tensor4D;
        if (offsets) b = tf.concat(offsets.map(([y, x], i) => tf.slice(b, [i, y, x, 0], [1, c, c, -1]))) as tf.Tensor4D;
        if (!flips.some(Boolean)) return b;
        const mask = tf.tensor(flips.map((f) => (f ? 1 : 0)), [batchSize, 1, 1, 1]);
        return tf.add(tf.mul(tf.reverse(b, 2), mask), tf.mul(b, tf.sub(1, mask))) as tf.Tensor4D;
      });
    return { x: pick(this.inputs), y: this.targets ? pick(this.targets) : null };
  }

  dispose(): void {
    this.inputs.dispose();
    this.targets?.dispose();
  }
}

export interface TrainingSetOptions {
  /** Crop size the model trains and is evaluated at. */
  size: number;
  /** Extra fraction the training images are resized to before a random `size` crop (0: none). */
  jitter?: number;
  range: InputRange;
  /** The last `heldOut` images are kept out of training for evaluation. */
  heldOut: number;
  inChannels?: number;
  outChannels?: number;
}

/**
 * Training and held-out sets from decoded images: the held-out images at `size`, the training
 * images at `size * (1 + jitter)` so batches can be randomly cropped to `size`.
 */
export function trainingSets(inputs: RawImage[], targets: RawImage[] | null, o: TrainingSetOptions): { train: ImageDataset; test: ImageDataset } {
  const n = inputs.length;
  if (n < 2) throw new Error('The dataset needs at least 2 images (one is held out for evaluation)');
  if (targets && targets.length !== n) throw new Error(`Dataset has ${n} inputs but ${targets.length} targets`);
  const k = Math.min(Math.max(o.heldOut, 1), n - 1);
  const loadSize = Math.round(o.size * (1 + (o.jitter ?? 0)));
  const part = (from: number, to: number, size: number) =>
    ImageDataset.fromImages(inputs.slice(from, to), targets?.slice(from, to) ?? null, size, o.range, o.inChannels, o.outChannels);
  return { train: part(0, n - k, loadSize), test: part(n - k, n, o.size) };
}
