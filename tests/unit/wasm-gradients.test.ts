import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { kernelLimits } from '../../src/core/backend/gradient-kernels';
import { buildGenerator, defaultSpec, type Arch } from '../../src/core/models/zoo';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { denseBlockModel, randomiseWeights } from '../helpers/models';

beforeAll(async () => {
  tf.env().set('PROD', true);
  const info = await initBackend({ prefer: 'wasm' });
  expect(info.name).toBe('wasm');
});

/** ||a - b|| / ||b|| */
function relError(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

async function gradsOn(backend: string, model: tf.LayersModel, x: tf.Tensor, target: tf.Tensor) {
  await tf.setBackend(backend);
  const { value, grads } = tf.variableGrads(() =>
    tf.losses.absoluteDifference(target, model.apply(x, { training: true }) as tf.Tensor),
  );
  const out: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) out[k] = (await g.data()) as Float32Array;
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/** The resize and padding layers a conv autoencoder may use besides the zoo's. */
function resizeModel(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3] });
  const c1 = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.maxPooling2d({ poolSize: 2 }).apply(c1) as tf.SymbolicTensor;
  const avg = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }).apply(pooled) as tf.SymbolicTensor;
  const padded = tf.layers.zeroPadding2d({ padding: 1 }).apply(avg) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'elu' }).apply(padded) as tf.SymbolicTensor;
  const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(c2) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate().apply([c1, up]) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(cat) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const tiny: Record<Arch, Parameters<typeof defaultSpec>[1]> = {
  resnet: { ngf: 4, size: 32, depth: 2 },
  unet: { ngf: 4, size: 32, depth: 4 },
  globalgen: { ngf: 4, size: 32, depth: 2, downsamplings: 3, inChannels: 5 },
};

describe('wasm gradients equal the cpu backend', () => {
  const models: [string, () => tf.LayersModel][] = [
    ...(Object.keys(tiny) as Arch[]).map((arch) => [arch, () => buildGenerator(defaultSpec(arch, tiny[arch]))] as [string, () => tf.LayersModel]),
    ['dense block with depthwise conv', () => denseBlockModel(16)],
    ['pooling, zero padding, nearest up-sampling, concat', () => resizeModel()],
  ];
  it.each(models)('%s: every variable within 1e-4 relative error', async (_name, make) => {
    await tf.setBackend('cpu');
    const model = make();
    randomiseWeights(model);
    const [, h, w, c] = model.inputs[0].shape as number[];
    const x = tf.randomUniform([2, h, w, c], -1, 1, 'float32', 11);
    const outC = (model.outputs[0].shape as number[])[3];
    const target = tf.randomUniform([2, h, w, outC], -1, 1, 'float32', 12);
    const onWasm = await gradsOn('wasm', model, x, target);
    const onCpu = await gradsOn('cpu', model, x, target);
    expect(Object.keys(onWasm.grads).length).toBe(model.trainableWeights.length);
    expect(onWasm.loss).toBeCloseTo(onCpu.loss, 4);
    // A conv bias right before a norm has a true gradient of zero (the norm removes any offset),
    // so both backends return rounding noise there: check it is tiny instead of comparing noise.
    const graph = readChannelGraph(model);
    const beforeNorm = new Set(
      graph.layers.filter((l) => /Normalization$/.test(l.className)).map((l) => `${l.inputs[0]}/bias`),
    );
    const norm = (g: Float32Array) => Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    const largest = Math.max(...Object.values(onCpu.grads).map(norm));
    for (const name of Object.keys(onCpu.grads)) {
      const a = onWasm.grads[name];
      const b = onCpu.grads[name];
      if (beforeNorm.has(name.replace(/_\d+$/, ''))) {
        expect(norm(a), `gradient of ${name}`).toBeLessThan(1e-3 * largest);
        continue;
      }
      expect(norm(a.map((v, i) => v - b[i])) / norm(b), `gradient of ${name}`).toBeLessThan(1e-4);
    }
  });

  it.each([
    [1, 'same'],
    [2, 'same'],
    [1, 'valid'],
    [2, 'valid'],
  ] as const)('conv2d and depthwise filter/input gradients, stride %i, %s padding', async (stride, pad) => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const dw = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const f = (...[xx, ww, dd]: tf.Tensor[]) =>
      tf.add(
        tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, stride, pad).square().sum(),
        tf.depthwiseConv2d(xx as tf.Tensor4D, dd as tf.Tensor4D, stride, pad).square().sum(),
      );
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const gs = tf.grads(f)([x, w, dw]);
      const data = await Promise.all(gs.map((g) => g.data()));
      tf.dispose(gs);
      return data;
    };
    const wasm = await grads('wasm');
    const cpu = await grads('cpu');
    for (let i = 0; i < 3; i++) expect(relError(wasm[i], cpu[i])).toBeLessThan(1e-5);
  });
});

describe('replaced convolution kernels agree with cpu', () => {
  it.each([
    [3, 2, 'same', 9],
    [4, 2, 'same', 8],
    [3, 2, 'valid', 9],
    [3, 1, 'same', 7],
    [5, 3, 'valid', 11],
    // Output divisible by the stride: computed phase by phase (conv2dInputGradByPhase).
    [2, 2, 'valid', 8],
    [4, 2, 'valid', 7],
    [5, 3, 'same', 6],
    [6, 3, 'valid', 5],
    [7, 2, 'same', 5],
  ] as const)('transposed conv forward: %ix%i kernel, stride %i, %s, %i px input', async (k, stride, pad, size) => {
    const x = tf.randomNormal([2, size, size, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, 3, 5], 0, 1, 'float32', 5) as tf.Tensor4D;
    const out = pad === 'same' ? size * stride : (size - 1) * stride + k;
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.conv2dTranspose(x, w, [2, out, out, 3], stride, pad).dataSync();
    };
    expect(relError(await run('wasm'), await run('cpu'))).toBeLessThan(1e-5);
  });

  it('transposed conv forward with unequal strides (2 x 3: phase by phase)', async () => {
    const x = tf.randomNormal([2, 6, 5, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([4, 6, 3, 5], 0, 1, 'float32', 5) as tf.Tensor4D;
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.conv2dTranspose(x, w, [2, 12, 15, 3], [2, 3], 'same').dataSync();
    };
    expect(relError(await run('wasm'), await run('cpu'))).toBeLessThan(1e-5);
  });

  it.each([1, 2])('filter gradient computed tap by tap (the large-input path), stride %i', async (stride) => {
    const x = tf.randomNormal([2, 11, 11, 6], 0, 1, 'float32', 6) as tf.Tensor4D;
    const w0 = tf.zeros([3, 3, 6, 4]);
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const dy = tf.randomNormal(tf.conv2d(x, w0 as tf.Tensor4D, stride, 'same').shape, 0, 1, 'float32', 7);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, stride, 'same'), dy)))(w0);
      return g.dataSync();
    };
    const saved = kernelLimits.convFormEntries;
    kernelLimits.convFormEntries = 0;
    try {
      expect(relError(await grad('wasm'), await grad('cpu'))).toBeLessThan(1e-5);
    } finally {
      kernelLimits.convFormEntries = saved;
    }
  });
});

describe('supplied kernels do not leak', () => {
  it('tensor count is flat over training steps on wasm', async () => {
    await tf.setBackend('wasm');
    const model = denseBlockModel(16);
    const optimizer = tf.train.adam(1e-3);
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 5);
    const y = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 6);
    const step = () =>
      optimizer.minimize(() => tf.losses.absoluteDifference(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, false);
    step();
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('batch norm input gradient (replaced: broadcast instead of tile)', () => {
  it.each(['wasm', 'cpu'])('equals the closed form through the batch statistics on %s', async (backend) => {
    await tf.setBackend(backend);
    const x = tf.randomNormal([3, 5, 4, 6], 0.5, 2, 'float32', 21) as tf.Tensor4D;
    const dy = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 22) as tf.Tensor4D;
    const gamma = tf.randomUniform([6], 0.5, 2, 'float32', 23) as tf.Tensor1D;
    const beta = tf.randomNormal([6], 0, 1, 'float32', 24) as tf.Tensor1D;
    const eps = 1e-3;
    const f = (t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(t, mean, variance, beta, gamma, eps), dy));
    };
    const got = await tf.grad(f)(x).data();
    // dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)), means over N, H, W.
    const expected = tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const inv = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(x, mean), inv);
      const centred = tf.sub(tf.sub(dy, tf.mean(dy, [0, 1, 2])), tf.mul(xhat, tf.mean(tf.mul(dy, xhat), [0, 1, 2])));
      return tf.mul(centred, tf.mul(inv, gamma));
    });
    expect(relError(got, await expected.data())).toBeLessThan(1e-4);
    tf.dispose([x, dy, gamma, beta, expected]);
  });
});
