/**
 * Sample grids: a few held-out inputs next to their targets and the outputs of each model, as
 * RGBA bytes (for canvases and PNG blobs) or tiled into one image (the CLI's samples.png).
 */
import * as tf from '@tensorflow/tfjs';
import { toBytes, type InputRange, type RawImage } from '../data/dataset';

/** One [1, H, W, C] image in the model's range as RGBA bytes (grey for 1 channel, first 3 otherwise). */
export async function toRgba(t: tf.Tensor4D, range: InputRange): Promise<Uint8ClampedArray> {
  const [, height, width] = t.shape;
  const rgba = tf.tidy(() => {
    const bytes = toBytes(t, range).squeeze([0]) as tf.Tensor3D;
    const c = bytes.shape[2];
    const three = c >= 3 ? tf.slice(bytes, [0, 0, 0], [height, width, 3]) : tf.tile(tf.slice(bytes, [0, 0, 0], [height, width, 1]), [1, 1, 3]);
    return tf.concat([three, tf.fill([height, width, 1], 255)], 2);
  });
  const data = new Uint8ClampedArray(await rgba.data());
  rgba.dispose();
  return data;
}

export interface SampleGrid {
  width: number;
  height: number;
  /** Column titles, e.g. input, target, original, student. */
  columns: string[];
  rows: { name: string; cells: Uint8ClampedArray[] }[];
}

/**
 * The first `count` images of `inputs` through each model, with the targets when given.
 * Columns: input, [target], then one per model in order.
 */
export async function sampleGrid(
  inputs: tf.Tensor4D,
  targets: tf.Tensor4D | null,
  models: { label: string; model: tf.LayersModel }[],
  range: InputRange,
  names: string[],
  count = 4,
): Promise<SampleGrid> {
  const n = Math.min(count, inputs.shape[0]);
  const rows: SampleGrid['rows'] = [];
  for (let i = 0; i < n; i++) {
    const x = tf.slice(inputs, i, 1) as tf.Tensor4D;
    const images = [x, ...(targets ? [tf.slice(targets, i, 1) as tf.Tensor4D] : []), ...models.map((m) => m.model.predict(x) as tf.Tensor4D)];
    rows.push({ name: names[i] ?? `#${i}`, cells: await Promise.all(images.map((t) => toRgba(t, range))) });
    tf.dispose(images);
  }
  return { width: inputs.shape[2], height: inputs.shape[1], columns: ['input', ...(targets ? ['target'] : []), ...models.map((m) => m.label)], rows };
}

/** The grid tiled into one RGB image, cells separated by a white gap. */
export function gridImage(grid: SampleGrid, gap = 2): RawImage {
  const cols = grid.columns.length;
  const width = cols * grid.width + (cols - 1) * gap;
  const height = grid.rows.length * grid.height + (grid.rows.length - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  grid.rows.forEach((row, r) =>
    row.cells.forEach((cell, c) => {
      for (let y = 0; y < grid.height; y++) {
        for (let x = 0; x < grid.width; x++) {
          const o = ((r * (grid.height + gap) + y) * width + c * (grid.width + gap) + x) * 3;
          const i = (y * grid.width + x) * 4;
          data.set(cell.subarray(i, i + 3), o);
        }
      }
    }),
  );
  return { name: 'samples', width, height, channels: 3, data };
}
