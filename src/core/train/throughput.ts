/**
 * How fast training goes here, so a run can be sized to a wall-time budget and use the batch size
 * this backend handles best. Like every decision from measured time, the measurement is a
 * parameter (`ThroughputMeasurer`): the default times real optimizer steps; tests pass a model.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/dataset';
import { loadModelFromFiles, saveModelToFiles } from '../io/model-files';
import { l1 } from './losses';
import { Rng } from './rng';

/** Training images per second at a batch size. */
export type ThroughputMeasurer = (batch: number) => Promise<number>;

export interface BatchChoice {
  batch: number;
  imagesPerSecond: number;
  table: { batch: number; imagesPerSecond: number }[];
}

/**
 * The candidate with the most images per second. Larger batches are only taken when they are
 * clearly faster (5%), since at equal speed smaller batches take more optimizer steps.
 */
export async function fastestBatch(candidates: number[], measure: ThroughputMeasurer): Promise<BatchChoice> {
  if (!candidates.length) throw new Error('No batch sizes to choose from');
  const table: BatchChoice['table'] = [];
  for (const batch of [...candidates].sort((a, b) => a - b)) table.push({ batch, imagesPerSecond: await measure(batch) });
  const best = table.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond * 1.05 ? b : a));
  return { ...best, table };
}

/**
 * Times real Adam steps of the L1 loss on a copy of `model` (the model itself is not touched):
 * `warmup` untimed steps, then `steps` timed ones, per batch size.
 */
export function timedTrainingThroughput(model: tf.LayersModel, data: ImageDataset, size: number, o: { warmup?: number; steps?: number } = {}): ThroughputMeasurer {
  return async (batch) => {
    const files = await saveModelToFiles(model);
    const copy = await loadModelFromFiles(files.modelJson, files.shards);
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
