/**
 * The default `ThroughputMeasurer` (see run-size.ts): real optimizer steps timed on this backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/dataset';
import { cloneModel } from '../io/model-files';
import { l1 } from './losses';
import { Rng } from './rng';
import type { ThroughputMeasurer } from './run-size';

/**
 * Times real Adam steps of a loss (default L1) on a copy of `model` (the model itself is not touched):
 * `warmup` untimed steps, then `steps` timed ones, per batch size.
 */
export function timedTrainingThroughput(
  model: tf.LayersModel,
  data: ImageDataset,
  size: number,
  o: {
    warmup?: number;
    steps?: number;
    loss?: (output: tf.Tensor4D, reference: tf.Tensor4D) => tf.Scalar;
    /** What each step's output is compared with (default: the batch's targets, else its inputs), e.g. a teacher's output. */
    reference?: (x: tf.Tensor4D, y: tf.Tensor4D | null) => tf.Tensor4D;
  } = {},
): ThroughputMeasurer {
  const loss = o.loss ?? l1;
  const reference = o.reference ?? ((x: tf.Tensor4D, y: tf.Tensor4D | null) => y ?? x);
  return async (batch) => {
    const copy = await cloneModel(model);
    const optimizer = tf.train.adam(1e-4);
    const rng = new Rng(1);
    const vars = copy.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = async () => {
      const { x, y } = data.batch(rng, batch, false, size);
      const target = tf.tidy(() => reference(x, y));
      const value = optimizer.minimize(() => loss(copy.apply(x, { training: true }) as tf.Tensor4D, target), true, vars)!;
      await value.data();
      tf.dispose([x, y, target, value] as tf.TensorContainer);
    };
    try {
      for (let i = 0; i < (o.warmup ?? 2); i++) await step();
      const steps = o.steps ?? 5;
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await step();
      return (steps * batch * 1000) / (performance.now() - t0);
    } finally {
      optimizer.dispose();
      copy.dispose();
    }
  };
}
