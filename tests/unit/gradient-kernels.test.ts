/**
 * Gradient kernels checked without trusting any backend: for an op that is linear in x (or
 * piecewise linear, like max pooling), <f(x), r> must equal <x, g> where g is the gradient of
 * <f(x), r>. A gradient sent to the wrong place breaks the identity.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

type Op = (x: tf.Tensor4D) => tf.Tensor;

const ops: [string, Op][] = [
  ['maxPool 2x2 stride 2 valid', (x) => tf.maxPool(x, 2, 2, 'valid')],
  ['maxPool 3x3 stride 1 same', (x) => tf.maxPool(x, 3, 1, 'same')],
  ['maxPool 3x3 stride 2 same', (x) => tf.maxPool(x, 3, 2, 'same')],
  ['resizeNearestNeighbor 2x', (x) => tf.image.resizeNearestNeighbor(x, [16, 16])],
  ['resizeNearestNeighbor 8 -> 11', (x) => tf.image.resizeNearestNeighbor(x, [11, 13])],
  ['resizeNearestNeighbor align corners', (x) => tf.image.resizeNearestNeighbor(x, [15, 15], true)],
  ['resizeNearestNeighbor half-pixel centres', (x) => tf.image.resizeNearestNeighbor(x, [12, 12], false, true)],
  ['conv2d 3x3 stride 2 same (filter fixed)', (x) => tf.conv2d(x, tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 8) as tf.Tensor4D, 2, 'same')],
];

describe.each(['cpu', 'wasm'])('adjoint identity on %s', (backend) => {
  it.each(ops)('%s', async (_name, f) => {
    await tf.setBackend(backend);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = f(x);
    const r = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), r)))(x);
    const lhs = tf.sum(tf.mul(y, r)).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    const scale = tf.sum(tf.abs(tf.mul(y, r))).dataSync()[0];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5 * scale);
  });
});

describe('replacement kernels', () => {
  it('wasm max-pool gradient equals the cpu one, and leaks nothing', async () => {
    const x = tf.randomNormal([2, 9, 9, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.maxPool(t as tf.Tensor4D, 3, 2, 'same'))))(x).dataSync();
    };
    expect(Array.from(await grad('wasm'))).toEqual(Array.from(await grad('cpu')));
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
