import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { sliceRuns } from '../../src/core/backend/wasm-slice';
import { Rng } from '../../src/core/train/rng';

beforeAll(async () => {
  tf.env().set('PROD', true);
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
});

async function sliceOn(backend: string, x: tf.Tensor, begin: number[], size: number[]) {
  await tf.setBackend(backend);
  const out = tf.slice(x, begin, size);
  const result = { shape: out.shape, values: Array.from(await out.data()) };
  out.dispose();
  return result;
}

describe('wasm Slice (replaced) equals the cpu backend', () => {
  it('merges the trailing dimensions a slice takes whole into one run', () => {
    expect(sliceRuns([8, 66, 66, 6], [0, 1, 1, 0], [8, 64, 64, 6])).toEqual({ shape: [8, 66, 396], begin: [0, 1, 6], size: [8, 64, 384], run: 384 });
    expect(sliceRuns([8, 66, 66, 6], [0, 1, 0, 0], [8, 64, 66, 6])).toEqual({ shape: [8, 26136], begin: [0, 396], size: [8, 25344], run: 25344 });
    expect(sliceRuns([2, 5, 5, 4], [0, 0, 0, 1], [2, 5, 5, 2])).toEqual({ shape: [2, 5, 5, 4], begin: [0, 0, 0, 1], size: [2, 5, 5, 2], run: 2 });
  });

  it('on random 1- to 5-D slices of float, int and bool tensors', async () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + (trial % 5);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(7));
      const begin = shape.map((d) => rng.int(d));
      // Some dimensions whole (the merged path), some partial, some of size 0.
      const size = shape.map((d, i) => (rng.int(3) === 0 ? d - begin[i] : trial % 13 === 0 && i === 0 ? 0 : 1 + rng.int(d - begin[i])));
      const dtype = (['float32', 'int32', 'bool'] as const)[trial % 3];
      await tf.setBackend('cpu');
      const n = shape.reduce((a, v) => a * v, 1);
      const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 3 === 0 : dtype === 'int32' ? i - 40 : i * 0.5 - 3));
      const onCpu = tf.tensor(values as number[], shape, dtype);
      const expected = await sliceOn('cpu', onCpu, begin, size);
      const onWasm = tf.tensor(values as number[], shape, dtype);
      await tf.setBackend('wasm');
      const moved = tf.tensor(await onWasm.data(), shape, dtype);
      expect(await sliceOn('wasm', moved, begin, size), `${dtype} ${JSON.stringify({ shape, begin, size })}`).toEqual(expected);
      tf.dispose([onCpu, onWasm, moved]);
    }
  });

  it('slices with -1 sizes and long runs (subarray copies)', async () => {
    await tf.setBackend('cpu');
    const x = tf.randomNormal([3, 20, 30, 8], 0, 1, 'float32', 2);
    const values = await x.data();
    const expected = await sliceOn('cpu', x, [1, 2, 0, 0], [-1, 15, -1, -1]);
    await tf.setBackend('wasm');
    const w = tf.tensor(values, x.shape);
    expect(await sliceOn('wasm', w, [1, 2, 0, 0], [-1, 15, -1, -1])).toEqual(expected);
    tf.dispose([x, w]);
  });
});
