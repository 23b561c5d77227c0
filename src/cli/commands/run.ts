/** `alap run`: a model's output for every image of a folder, as PNGs of the same names. */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseRange, fromBytes, toBytes, type InputRange } from '../../core/data/dataset';
import { centreSquare } from '../../core/data/photo-augment';
import { int, progressBar, UsageError, type Values } from '../args';
import { nodeBackend, startBackend } from '../backend';
import { encodePng } from '../images';
import { readModelDir, readModelInfo, checkOutDir } from '../model-dir';
import { pngName, readUsable } from '../photo-files';

/** The input range a model folder's info.json records, if any. */
export async function recordedRange(modelPath: string): Promise<InputRange | null> {
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
