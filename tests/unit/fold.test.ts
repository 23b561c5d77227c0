import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { foldBatchNorms } from '../../src/core/models/fold';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

/** Trained-looking batch norms: random gamma, beta and moving statistics. */
function randomiseNorms(model: tf.LayersModel): void {
  model.layers.forEach((l, i) => {
    if (l.getClassName() !== 'BatchNormalization') return;
    const [c] = l.getWeights()[0].shape;
    const w = [tf.randomNormal([c], 1, 0.3, 'float32', i), tf.randomNormal([c], 0, 0.3, 'float32', i + 100), tf.randomNormal([c], 0, 0.2, 'float32', i + 200), tf.randomUniform([c], 0.3, 2, 'float32', i + 300)];
    l.setWeights(w);
    tf.dispose(w);
  });
}

async function maxDiff(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

describe('foldBatchNorms (inference copies)', () => {
  it('folds conv -> batch norm [-> ReLU] into one fused convolution and computes the same output', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, depth: 2, size: null, norm: 'batch', downsamplings: 1 }));
    randomiseNorms(model);
    const folded = (await foldBatchNorms(model))!;
    const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
    expect(classes(model).filter((c) => c === 'BatchNormalization')).toHaveLength(7);
    // The up-sampling's transposed convolution takes its norm but keeps its ReLU (tfjs fuses none into it).
    expect(classes(folded).filter((c) => c === 'BatchNormalization')).toHaveLength(0);
    expect(classes(folded).filter((c) => c === 'ReLU')).toHaveLength(1);
    expect(folded.layers.filter((l) => l.getClassName() === 'Conv2D' && l.getConfig().activation === 'relu').map((l) => l.name)).toEqual(['stem_conv', 'down1_conv', 'block1_conv1', 'block2_conv1']);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1);
    expect(await maxDiff(model, folded, x)).toBeLessThan(1e-5);
    // The original is untouched and still trains with its norms.
    expect(classes(model).filter((c) => c === 'BatchNormalization')).toHaveLength(7);
    tf.dispose([x, model, folded] as unknown as tf.TensorContainer);
  });

  it('leaves models without a foldable batch norm alone (instance norms depend on each frame)', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, depth: 1, size: null }));
    expect(await foldBatchNorms(model)).toBeNull();
    model.dispose();
  });
});
