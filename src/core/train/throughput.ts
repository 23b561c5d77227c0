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
 * Times real Adam steps of the L1 loss on a copy of `model` (the model itself is not touched):
 * `warmup` untimed steps, then `steps` timed ones, per batch size.
 */
export function timedTrainingThroughput(model: tf.LayersModel, data: ImageDataset, size: number, o: { warmup?: number; steps?: number } = {}): ThroughputMeasurer {
  return async (batch) => {
    const copy = await cloneModel(model);
    const optimizer = tf.train.adam(1e-4);
    const rng = new Rng(1);
    const vars = copy.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = async () => {
      const { x, y } = data.batch(rng, batch, false, size);
      const loss = optimizer.minimize(() => l1(copy.apply(x, { training: true }) as tf.Tensor, y ?? x), true, vars)!;
      await loss.data();
      tf.dispose([x, y, loss] as tf.TensorContainer);
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
