/**
 * Users' own photos: `alap data --task face-to-cartoon --from <photos>` makes a paired dataset
 * (each photo centre-cropped and resized, its target the cartoon filter's output), and `alap run`
 * writes a model's output for every image of a folder.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cartoonize } from '../core/data/cartoon';
import { fromBytes, parseRange, toBytes, type InputRange, type RawImage } from '../core/data/dataset';
import { centreSquare } from '../core/data/photo-augment';
import { int, progressBar, UsageError, type Values } from './args';
import { nodeBackend, startBackend } from './backend';
import { decodeImage, encodePng, listImages } from './images';
import { checkOutDir, readModelDir, readModelInfo } from './model-dir';

const pngName = (name: string) => name.replace(/\.[^.]+$/, '') + '.png';

/** Decodes every image of a folder; unusable files are listed on stderr and left out. */
async function readUsable(dir: string): Promise<RawImage[]> {
  const usable: RawImage[] = [];
  for (const name of await listImages(dir)) {
    try {
      usable.push(decodeImage(name, new Uint8Array(await fs.readFile(path.join(dir, name)))));
    } catch (e) {
      process.stderr.write(`left out: ${(e as Error).message}\n`);
    }
  }
  if (!usable.length) throw new Error(`No usable image in '${dir}'`);
  return usable;
}

/** `alap data --task face-to-cartoon --from <photos> --out <dir> [--size 256]`. */
export async function dataFromPhotos(values: Values) {
  if (values.task !== 'face-to-cartoon') throw new UsageError(`--from makes targets with the cartoon filter: use it with --task face-to-cartoon`);
  const out = values.out!;
  const size = int(values, 'size', 256)!;
  await checkOutDir(out, Boolean(values.force));
  const photos = await readUsable(values.from!);
  const bar = progressBar('photos');
  const staging = `${out.replace(/\/+$/, '')}.partial`;
  await fs.rm(staging, { recursive: true, force: true });
  for (const folder of ['inputs', 'targets']) await fs.mkdir(path.join(staging, folder), { recursive: true });
  for (const [i, photo] of photos.entries()) {
    const input = centreSquare(photo, size);
    const target = cartoonize(input);
    await fs.writeFile(path.join(staging, 'inputs', pngName(photo.name)), encodePng(size, size, 3, input.data));
    await fs.writeFile(path.join(staging, 'targets', pngName(photo.name)), encodePng(size, size, 3, target.data));
    bar(i + 1, photos.length, photo.name);
  }
  // Into place only when complete: a cut-off run leaves no half dataset at --out.
  await fs.rm(out, { recursive: true, force: true });
  await fs.rename(staging, out);
  console.log(`wrote ${photos.length} ${size}x${size} pairs (photo -> cartoon filter) to ${out}/inputs and ${out}/targets`);
}

/** The input range a model folder's info.json records, if any. */
async function recordedRange(modelPath: string): Promise<InputRange | null> {
  const range = (await readModelInfo(modelPath))?.inputRange;
  return typeof range === 'string' ? parseRange(range) : null;
}

/** `alap run <model> --data <dir> --out <dir> [--size N] [--input-range R]`. */
export async function runModel(modelPath: string, values: Values) {
  if (!values.data) throw new UsageError('run needs --data <image folder>');
  if (!values.out) throw new UsageError('run needs --out <dir>');
  await checkOutDir(values.out, Boolean(values.force));
  await startBackend(nodeBackend(values));
  const model = await readModelDir(modelPath);
  const range = values['input-range'] ? parseRange(values['input-range']) : ((await recordedRange(modelPath)) ?? '-1,1');
  const fixed = model.inputs[0].shape[1];
  const size = int(values, 'size') ?? fixed ?? 256;
  if (fixed != null && fixed !== size) throw new UsageError(`The model takes ${fixed}x${fixed} inputs; --size ${size} does not match`);
  const channels = model.inputs[0].shape[3] ?? 3;
  const images = await readUsable(values.data);
  await fs.mkdir(values.out, { recursive: true });
  const bar = progressBar('run');
  for (const [i, img] of images.entries()) {
    const square = centreSquare(img, size);
    const output = tf.tidy(() => {
      const x = fromBytes(tf.tensor4d(square.data, [1, size, size, 3], 'int32').toFloat().slice([0, 0, 0, 0], [1, size, size, channels]), range);
      return toBytes(model.predict(x) as tf.Tensor, range).round().toInt();
    });
    const [, h, w, c] = output.shape;
    const bytes = new Uint8Array(await output.data());
    output.dispose();
    await fs.writeFile(path.join(values.out, pngName(img.name)), encodePng(w, h, c, bytes));
    bar(i + 1, images.length, img.name);
  }
  model.dispose();
  console.log(`wrote ${images.length} outputs (${size}x${size}, input range ${range}) to ${values.out}`);
}
