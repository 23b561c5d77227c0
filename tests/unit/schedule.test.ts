import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { lrFactor, WeightEma } from '../../src/core/train/schedule';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays along a half cosine to zero', () => {
    const s = { warmup: 0.1, decay: 'cosine' as const };
    const f = Array.from({ length: 100 }, (_, i) => lrFactor(i, 100, s));
    expect(f.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) / 11));
    expect(f[10]).toBe(1);
    expect(f[55]).toBeCloseTo(0.5, 10);
    expect(f[99]).toBeLessThan(0.001);
    for (let i = 11; i < 100; i++) expect(f[i]).toBeLessThan(f[i - 1]);
  });

  it('constant after warm-up; no warm-up starts at the full rate', () => {
    expect(lrFactor(0, 50, { warmup: 0, decay: 'constant' })).toBe(1);
    expect(lrFactor(49, 50, { warmup: 0, decay: 'constant' })).toBe(1);
    expect(lrFactor(0, 50, { warmup: 0, decay: 'cosine' })).toBe(1);
  });
});

describe('weight EMA', () => {
  it('follows the ramped decay, leaves no tensors behind and copies the average into the variables', async () => {
    const v = tf.variable(tf.tensor1d([0, 10]));
    const before = tf.memory().numTensors;
    const ema = new WeightEma([v], 0.5);
    let expected = [0, 10];
    const values = [[2, 2], [4, 0], [6, 6]];
    values.forEach((x, step) => {
      tf.tidy(() => v.assign(tf.tensor1d(x)));
      ema.update(step);
      const d = Math.min(0.5, (1 + step) / (10 + step));
      expected = expected.map((e, i) => d * e + (1 - d) * x[i]);
    });
    expect(Array.from(await ema.averages[0].data())).toEqual(expected.map((e) => Math.fround(e)).map((e) => expect.closeTo(e, 5)));
    ema.applyTo();
    expect(Array.from(await v.data()).map((e) => Number(e.toFixed(4)))).toEqual(expected.map((e) => Number(e.toFixed(4))));
    ema.dispose();
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });
});
