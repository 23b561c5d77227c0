import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromFiles, saveModelToFiles } from '../../src/core/io/model-files';
import { quantizeModelFiles, toFloat16Bits } from '../../src/core/io/quantize';
import { psnr } from '../../src/core/measure/quality';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { randomiseWeights } from '../helpers/models';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('float16 bits', () => {
  it.each([
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [5.960464477539063e-8, 0x0001],
    [0.333251953125, 0x3555],
  ])('%f -> %i', (v, bits) => expect(toFloat16Bits(v)).toBe(bits));
});

describe('quantised export loads with tfjs and costs little quality', () => {
  it.each([
    ['float16', 0.5, 45],
    ['uint8', 0.25, 20],
  ] as const)('%s: %f of the size, PSNR vs float32 above %i dB', async (precision, ratio, minPsnr) => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 8, size: 32, depth: 2 }));
    randomiseWeights(model);
    const files = await saveModelToFiles(model);
    const q = quantizeModelFiles(files, precision);
    const size = (f: typeof files) => f.shards.get('weights.bin')!.byteLength;
    expect(size(q) / size(files)).toBeCloseTo(ratio, 2);
    expect(JSON.parse(q.modelJson).weightsManifest[0].weights[0].quantization.dtype).toBe(precision);
    const loaded = await loadModelFromFiles(q.modelJson, q.shards);
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3);
    const a = model.predict(x) as tf.Tensor4D;
    const b = loaded.predict(x) as tf.Tensor4D;
    const p = await psnr(a, b);
    expect(p).toBeGreaterThan(minPsnr);
    expect(p).toBeLessThan(Infinity);
  });
});
