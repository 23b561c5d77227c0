/**
 * Reads go through `await data()`: a synchronous read on the webgpu backend (in a worker) was
 * seen to break the GPU instance for the rest of the run.
 *
 * Image quality between two NHWC batches: PSNR and SSIM (Wang et al. 2004: 11x11 Gaussian window,
 * sigma 1.5, K1 = 0.01, K2 = 0.03), both given the data range of the images (2 for [-1, 1]).
 */
import * as tf from '@tensorflow/tfjs';

function checkPair(a: tf.Tensor4D, b: tf.Tensor4D): void {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`Images to compare differ in shape: [${a.shape}] vs [${b.shape}]`);
  }
}

/** Mean PSNR over the batch, in dB (Infinity for identical images). Reads back asynchronously. */
export async function psnr(a: tf.Tensor4D, b: tf.Tensor4D, dataRange = 2): Promise<number> {
  checkPair(a, b);
  const perImage = tf.tidy(() => tf.mean(tf.squaredDifference(a, b), [1, 2, 3]));
  const mse = await perImage.data();
  perImage.dispose();
  const values = Array.from(mse, (m) => (m === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / m)));
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function gaussianWindow(size: number, sigma: number, channels: number): tf.Tensor4D {
  const half = (size - 1) / 2;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((s, v) => s + v, 0);
  const w = g.map((v) => v / sum);
  const k: number[] = [];
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) for (let c = 0; c < channels; c++) k.push(w[i] * w[j]);
  return tf.tensor4d(k, [size, size, channels, 1]);
}

/** Mean SSIM as a scalar tensor (differentiable, for losses). Small images use a smaller window. */
export function ssimTensor(a: tf.Tensor4D, b: tf.Tensor4D, dataRange = 2): tf.Scalar {
  checkPair(a, b);
  return tf.tidy(() => {
    const [, h, w, c] = a.shape;
    const size = Math.min(11, h, w);
    const win = gaussianWindow(size, 1.5 * (size / 11), c);
    const blur = (x: tf.Tensor4D) => tf.depthwiseConv2d(x, win, 1, 'valid');
    const c1 = (0.01 * dataRange) ** 2;
    const c2 = (0.03 * dataRange) ** 2;
    const muA = blur(a);
    const muB = blur(b);
    const varA = tf.sub(blur(tf.mul(a, a)), tf.mul(muA, muA));
    const varB = tf.sub(blur(tf.mul(b, b)), tf.mul(muB, muB));
    const cov = tf.sub(blur(tf.mul(a, b)), tf.mul(muA, muB));
    const num = tf.mul(tf.add(tf.mul(2, tf.mul(muA, muB)), c1), tf.add(tf.mul(2, cov), c2));
    const den = tf.mul(tf.add(tf.add(tf.square(muA), tf.square(muB)), c1), tf.add(tf.add(varA, varB), c2));
    return tf.mean(tf.div(num, den)) as tf.Scalar;
  });
}

/** Mean SSIM over batch, pixels and channels. */
export async function ssim(a: tf.Tensor4D, b: tf.Tensor4D, dataRange = 2): Promise<number> {
  const t = ssimTensor(a, b, dataRange);
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

export interface QualityPair {
  psnr: number;
  ssim: number;
}

export async function quality(a: tf.Tensor4D, b: tf.Tensor4D, dataRange: number): Promise<QualityPair> {
  return { psnr: await psnr(a, b, dataRange), ssim: await ssim(a, b, dataRange) };
}

/** Runs a model over a batch of inputs in small chunks (bounded memory). */
export function predictAll(model: tf.LayersModel, inputs: tf.Tensor4D, chunk = 4): tf.Tensor4D {
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < inputs.shape[0]; i += chunk) {
      const n = Math.min(chunk, inputs.shape[0] - i);
      parts.push(model.predict(tf.slice(inputs, i, n)) as tf.Tensor4D);
    }
    return tf.concat(parts) as tf.Tensor4D;
  });
}
