import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { ImageDataset } from '../../src/core/data/dataset';
import { generateTask } from '../../src/core/data/tasks';
import { nightStyle } from '../../src/core/data/unpaired';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { CycleGanTrainer, trainCycleGan } from '../../src/core/train/cyclegan';
import { Rng } from '../../src/core/train/rng';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('unpaired domains', () => {
  it('are reproducible, differ in style, and are not pairs of each other', () => {
    const { inputs: a, targets: b } = generateTask('unpaired', 6, 24, 3);
    const again = generateTask('unpaired', 6, 24, 3).targets;
    expect(again.map((x) => Array.from(x.data))).toEqual(b.map((x) => Array.from(x.data)));
    const mean = (imgs: typeof a, c: number) => imgs.reduce((s, img) => s + img.data.filter((_, i) => i % 3 === c).reduce((t, v) => t + v, 0), 0) / (imgs.length * 24 * 24);
    expect(mean(b, 0)).toBeLessThan(mean(a, 0) / 2); // night is darker in red
    a.forEach((img, i) => expect(Array.from(nightStyle(img).data)).not.toEqual(Array.from(b[i].data)));
  });
});

describe('CycleGAN training', () => {
  it('cycle loss decreases on a tiny run and no tensors leak', async () => {
    const size = 16;
    const { inputs: a, targets: b } = generateTask('unpaired', 12, size, 5);
    const A = ImageDataset.fromImages(a, null, size, '-1,1');
    const B = ImageDataset.fromImages(b, null, size, '-1,1');
    const spec = defaultSpec('resnet', { ngf: 4, depth: 1, size });
    const trainer = new CycleGanTrainer(buildGenerator({ ...spec, seed: 1 }), buildGenerator({ ...spec, seed: 2 }), size, 1e-3);
    const rng = new Rng(9);
    const cycles: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 40; i++) {
      const xa = A.batch(rng, 2).x;
      const xb = B.batch(rng, 2).x;
      const losses = await trainer.step(xa, xb);
      tf.dispose([xa, xb]);
      cycles.push(losses.cycle);
      counts.push(tf.memory().numTensors);
      expect(Object.values(losses).every(Number.isFinite)).toBe(true);
    }
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean(cycles.slice(-10))).toBeLessThan(mean(cycles.slice(0, 10)) * 0.8);
    expect(new Set(counts.slice(2)).size).toBe(1);
    trainer.dispose();
  });

  it('with the recipe (batches, cosine decay, weight EMA) returns the averaged G and frees everything else', async () => {
    const size = 16;
    const { inputs: a, targets: b } = generateTask('unpaired', 8, size, 6);
    const A = ImageDataset.fromImages(a, null, size, '-1,1');
    const B = ImageDataset.fromImages(b, null, size, '-1,1');
    const generator = defaultSpec('resnet', { ngf: 4, depth: 1, size });
    const before = tf.memory().numTensors;
    const run = (ema: number) => trainCycleGan({ a: A, b: B, generator, steps: 6, seed: 3, lr: 1e-3, batch: 2, schedule: { warmup: 0.2, decay: 'cosine' }, ema });
    const { model } = await run(0.9);
    // Only the returned generator's weights are left.
    expect(tf.memory().numTensors - before).toBe(model.weights.length);
    // The average differs from the last iterate (same seed, same data, EMA off).
    const { model: last } = await run(0);
    const diff = tf.tidy(() => tf.addN(model.getWeights().map((w, i) => tf.sum(tf.abs(tf.sub(w, last.getWeights()[i]))))).dataSync()[0]);
    expect(diff).toBeGreaterThan(0);
    [model, last, A, B].forEach((x) => x.dispose());
  });
});
