import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { EdgePadding2D, InstanceNormalization, reflectPad } from '../../src/core/models/layers';
import { loadModelFromFiles, saveModelToFiles } from '../../src/core/io/model-files';
import { ARCHS, buildGenerator, defaultSpec } from '../../src/core/models/zoo';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('ReflectionPadding2D gradient', () => {
  it('folds the borders back: [1,2,3,4] padded by 2 has gradient [1,3,3,1] (tfjs gives [1,1,1,1])', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]);
    const g = tf.grad((t: tf.Tensor) => reflectPad(t as tf.Tensor4D, 0, 2).sum())(x);
    expect(Array.from(g.dataSync())).toEqual([1, 3, 3, 1]);
  });

  it.each(['wasm', 'cpu'])('matches central finite differences on %s', async (backend) => {
    await tf.setBackend(backend);
    const x = tf.randomNormal([1, 5, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const r = tf.randomNormal([1, 9, 8, 2], 0, 1, 'float32', 2);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(reflectPad(t as tf.Tensor4D, 2, 1), r));
    const analytic = tf.grad(f)(x).dataSync();
    const base = x.dataSync();
    const h = 1e-2;
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice();
      const minus = base.slice();
      plus[i] += h;
      minus[i] -= h;
      const fd = (f(tf.tensor4d(plus, x.shape)).dataSync()[0] - f(tf.tensor4d(minus, x.shape)).dataSync()[0]) / (2 * h);
      expect(Math.abs(fd - analytic[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('EdgePadding2D', () => {
  it('repeats the border rows and columns, asymmetrically, and its gradient sums what each border copied', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const layer = new EdgePadding2D({ padding: [[2, 0], [1, 2]] });
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
      const y = layer.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([1, 4, 6, 1]);
      // prettier-ignore
      expect(Array.from(y.dataSync())).toEqual([
        1, 1, 2, 3, 3, 3,
        1, 1, 2, 3, 3, 3,
        1, 1, 2, 3, 3, 3,
        4, 4, 5, 6, 6, 6,
      ]);
      const g = tf.grad((t: tf.Tensor) => (layer.apply(t) as tf.Tensor).sum())(x);
      expect(Array.from(g.dataSync())).toEqual([6, 3, 9, 2, 1, 3]);
    }
  });
});

describe('InstanceNormalization', () => {
  it('normalises each sample and channel over H and W', () => {
    const layer = new InstanceNormalization({});
    const x = tf.randomNormal([2, 8, 8, 3], 4, 3, 'float32', 3);
    const y = layer.apply(x) as tf.Tensor4D;
    const { mean, variance } = tf.moments(y, [1, 2]);
    mean.dataSync().forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-4));
    variance.dataSync().forEach((v) => expect(v).toBeCloseTo(1, 2));
  });

  it('the wasm inference path (1x1 depthwise convolutions) equals the training path and the cpu backend', async () => {
    await tf.setBackend('wasm');
    const layer = new InstanceNormalization({});
    const x = tf.randomNormal([1, 12, 12, 5], 4, 3, 'float32', 8);
    layer.apply(x);
    layer.setWeights([tf.randomNormal([5], 1, 0.5, 'float32', 9), tf.randomNormal([5], 0, 1, 'float32', 10)]);
    const inference = await (layer.apply(x) as tf.Tensor).data();
    const training = await (layer.apply(x, { training: true }) as tf.Tensor).data();
    await tf.setBackend('cpu');
    const cpu = await (layer.apply(x) as tf.Tensor).data();
    const maxDiff = (a: Float32Array | Int32Array | Uint8Array, b: typeof a) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(maxDiff(inference, training)).toBeLessThan(1e-5);
    expect(maxDiff(inference, cpu)).toBeLessThan(1e-5);
    expect(maxDiff(inference, await x.data())).toBeGreaterThan(0.1); // it did normalise
    await tf.setBackend('wasm');
  });
});

describe('zoo models save and reload with custom layers', () => {
  it.each(ARCHS)('%s round-trips through model.json + weights', async (arch) => {
    const model = buildGenerator(defaultSpec(arch, { ngf: 4, size: 32, depth: arch === 'unet' ? 4 : 1, downsamplings: 2 }));
    const files = await saveModelToFiles(model);
    const loaded = await loadModelFromFiles(files.modelJson, files.shards);
    const x = tf.randomUniform([1, 32, 32, model.inputs[0].shape[3]!], -1, 1, 'float32', 4);
    const diff = tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0];
    expect(diff).toBe(0);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
  });

  it('a size-free generator runs at any multiple of its stride', () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: null, depth: 1 }));
    expect(model.inputs[0].shape).toEqual([null, null, null, 3]);
    for (const s of [16, 24]) {
      expect((model.predict(tf.zeros([1, s, s, 3])) as tf.Tensor).shape).toEqual([1, s, s, 3]);
    }
  });
});
