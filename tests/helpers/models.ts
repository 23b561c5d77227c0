/** Small models and deterministic weights for tests. */
import * as tf from '@tensorflow/tfjs';

/**
 * Replaces every weight with deterministic values of a scale that keeps activations O(1), so
 * differences between models show up in outputs (the zoo's N(0, 0.02) init makes deep nets
 * nearly constant). BatchNorm variances stay positive.
 */
export function randomiseWeights(model: tf.LayersModel, seed = 3): void {
  let s = seed;
  for (const w of model.weights) {
    tf.tidy(() => {
      const shape = w.shape as number[];
      if (w.name.endsWith('moving_variance')) {
        w.write(tf.randomUniform(shape, 0.5, 1.5, 'float32', s++));
        return;
      }
      const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : 1;
      const scale = shape.length === 4 ? Math.sqrt(2 / fanIn) : 0.5;
      const base = shape.length === 1 && /gamma/.test(w.name) ? 1 : 0;
      w.write(tf.add(base, tf.mul(scale, tf.randomNormal(shape, 0, 1, 'float32', s++))));
    });
  }
}

/** A densely connected block (RDN / ESRGAN style): concatenations feeding a residual Add. */
export function denseBlockModel(size = 16, width = 8, growth = 4): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3], name: 'input' });
  const conv = (x: tf.SymbolicTensor, f: number, name: string, k = 3) =>
    tf.layers.conv2d({ filters: f, kernelSize: k, padding: 'same', name }).apply(x) as tf.SymbolicTensor;
  const lrelu = (x: tf.SymbolicTensor, name: string) => tf.layers.leakyReLU({ alpha: 0.2, name }).apply(x) as tf.SymbolicTensor;
  const stem = conv(input, width, 'stem');
  let features = stem;
  for (let i = 1; i <= 3; i++) {
    const y = lrelu(conv(features, growth, `dense${i}`), `dense${i}_act`);
    features = tf.layers.concatenate({ name: `dense${i}_cat` }).apply([features, y]) as tf.SymbolicTensor;
  }
  const fused = tf.layers.batchNormalization({ name: 'fuse_bn' }).apply(conv(features, width, 'fuse', 1)) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'residual' }).apply([stem, fused]) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(sum) as tf.SymbolicTensor;
  const out = conv(lrelu(dw, 'dw_act'), 3, 'head');
  return tf.model({ inputs: input, outputs: out, name: 'dense_block' });
}
