/** Losses of the training stages. All return scalar tensors and allocate nothing outside tidy. */
import * as tf from '@tensorflow/tfjs';
import { ssimTensor } from '../measure/quality';

export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar;
}

export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;
}

/** 1 - SSIM, for images of the given data range. */
export function ssimLoss(a: tf.Tensor4D, b: tf.Tensor4D, dataRange: number): tf.Scalar {
  return tf.sub(1, ssimTensor(a, b, dataRange)) as tf.Scalar;
}

/** Least-squares GAN: the discriminator pushes real patches to 1 and fakes to 0. */
export function lsganDiscriminator(real: tf.Tensor, fake: tf.Tensor): tf.Scalar {
  return tf.mul(0.5, tf.add(tf.mean(tf.square(tf.sub(real, 1))), tf.mean(tf.square(fake)))) as tf.Scalar;
}

/** Least-squares GAN: the generator wants its patches judged real. */
export function lsganGenerator(fake: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(fake, 1))) as tf.Scalar;
}

/** Weighted sum of named loss terms; terms with weight 0 are skipped. */
export function weighted(terms: Record<string, [number, () => tf.Scalar]>, out: Record<string, tf.Scalar>): tf.Scalar {
  let total: tf.Scalar = tf.scalar(0);
  for (const [name, [w, f]] of Object.entries(terms)) {
    if (!w) continue;
    const v = f();
    out[name] = tf.keep(v.clone());
    total = tf.add(total, tf.mul(w, v));
  }
  return total;
}
