import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { modelCost } from '../../src/core/measure/cost';
import { fastestMeasurer, foldedMeasurer, measureLatency, summarise, type Latency, type LatencyMeasurer } from '../../src/core/measure/latency';
import { kernelProfile } from '../../src/core/measure/kernels';
import { psnr, ssim } from '../../src/core/measure/quality';
import { ARCHS, buildGenerator, defaultSpec } from '../../src/core/models/zoo';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('MACs and parameters', () => {
  it('reproduces the published 56.8 GMACs of the CycleGAN ResNet generator (ngf=64, 9 blocks, 256x256)', () => {
    const model = buildGenerator(defaultSpec('resnet'));
    const cost = modelCost(readChannelGraph(model), [256, 256]);
    expect((cost.macs / 1e9).toFixed(1)).toBe('56.8');
    expect(cost.params).toBe(model.countParams());
  });

  it.each(ARCHS)('%s: counted params equal tfjs countParams', (arch) => {
    const model = buildGenerator(defaultSpec(arch, { ngf: 8, size: 64, depth: arch === 'unet' ? 5 : 2 }));
    expect(modelCost(readChannelGraph(model), [64, 64]).params).toBe(model.countParams());
  });

  it('counts a transposed conv over its output pixels (the convention behind 56.8 G)', () => {
    const input = tf.input({ shape: [8, 8, 4] });
    const out = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const cost = modelCost(readChannelGraph(tf.model({ inputs: input, outputs: out })), [8, 8]);
    expect(cost.macs).toBe(16 * 16 * 9 * 4 * 2);
  });
});

describe('PSNR and SSIM', () => {
  const a = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;

  it('identical images: PSNR infinite, SSIM 1', async () => {
    expect(await psnr(a, a)).toBe(Infinity);
    expect(await ssim(a, a)).toBeCloseTo(1, 5);
  });

  it('PSNR of a constant offset d in range 2 is 10 log10(4 / d^2)', async () => {
    expect(await psnr(a, tf.add(a, 0.1) as tf.Tensor4D)).toBeCloseTo(10 * Math.log10(4 / 0.01), 3);
  });

  it('SSIM falls as noise grows and goes negative for an inverted image', async () => {
    const noisy = (s: number) => tf.add(a, tf.randomNormal(a.shape, 0, s, 'float32', 2)) as tf.Tensor4D;
    const small = await ssim(a, noisy(0.05));
    const large = await ssim(a, noisy(0.5));
    expect(small).toBeLessThan(1);
    expect(large).toBeLessThan(small);
    // Structure term: an inverted [0, 1] image correlates negatively with the original.
    const pos = tf.div(tf.add(a, 1), 2) as tf.Tensor4D;
    expect(await ssim(pos, tf.sub(1, pos) as tf.Tensor4D, 1)).toBeLessThan(0);
  });

  it('refuses images of different shapes', async () => {
    await expect(psnr(a, tf.zeros([2, 16, 16, 3]))).rejects.toThrow(/differ in shape/);
  });
});

describe('latency', () => {
  it('summarises median, p95 and FPS', () => {
    const s = summarise([10, 30, 20, 40, 50]);
    expect(s.medianMs).toBe(30);
    expect(s.fps).toBeCloseTo(1000 / 30);
    expect(s.p95Ms).toBeCloseTo(48);
    expect(s.timesMs).toEqual([10, 30, 20, 40, 50]);
  });

  it('times real runs and leaks nothing', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const before = tf.memory().numTensors;
    const lat = await measureLatency(model, [1, 32, 32, 3], { warmup: 1, runs: 3 });
    expect(lat.runs).toBe(3);
    expect(lat.medianMs).toBeGreaterThan(0);
    expect(lat.backend).toBe('cpu');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('times the inference copy with batch norms folded, and frees it', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1, norm: 'batch' }));
    const seen: string[][] = [];
    const inner: LatencyMeasurer = async (m, shape) => {
      seen.push(m.layers.map((l) => l.getClassName()));
      return { backend: 'fake', inputShape: shape, ...summarise([5]) };
    };
    const before = tf.memory().numTensors;
    expect((await foldedMeasurer(inner)(model, [1, 32, 32, 3])).medianMs).toBe(5);
    expect(model.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
    expect(seen[0]).not.toContain('BatchNormalization');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the fastest runtime per model and passes over one that cannot run it', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const fixed = (backend: string, ms: number): LatencyMeasurer => async (_, shape) => ({ backend, inputShape: shape, ...summarise([ms]) });
    const refuses: LatencyMeasurer = async () => {
      throw new Error('unsupported layer');
    };
    const pick = (ms: Latency) => [ms.backend, ms.medianMs];
    expect(pick(await fastestMeasurer([fixed('tfjs', 40), fixed('onnxruntime', 25)])(model, [1, 32, 32, 3]))).toEqual(['onnxruntime', 25]);
    expect(pick(await fastestMeasurer([fixed('tfjs', 20), fixed('onnxruntime', 25)])(model, [1, 32, 32, 3]))).toEqual(['tfjs', 20]);
    expect(pick(await fastestMeasurer([fixed('tfjs', 40), refuses])(model, [1, 32, 32, 3]))).toEqual(['tfjs', 40]);
    await expect(fastestMeasurer([refuses])(model, [1, 32, 32, 3])).rejects.toThrow('unsupported layer');
  });
});

describe('kernel profile', () => {
  it('counts the kernels of one frame by kind, timed on a CPU backend, with no fused-op scopes', async () => {
    const x = tf.input({ shape: [8, 8, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'tanh' }).apply(conv) as tf.SymbolicTensor;
    const model = tf.model({ inputs: x, outputs: out });
    const before = tf.memory().numTensors;
    const p = await kernelProfile(model, [1, 8, 8, 3]);
    expect(tf.memory().numTensors).toBe(before);
    expect(p.backend).toBe('cpu');
    expect(p.timing).toBe('cpu');
    expect(p.kernels).toBe(p.byName.reduce((a, k) => a + k.count, 0));
    expect(p.byName.every((k) => k.ms !== null && k.ms >= 0 && !/scope|__op$/.test(k.name))).toBe(true);
    // Two convolutions with bias and activation fused into each.
    expect(p.byName.find((k) => k.name === 'FusedConv2D')?.count).toBe(2);
  });
});
