/**
 * CycleGAN training (Zhu et al. 2017) for unpaired translation: generators G: A -> B and
 * F: B -> A, PatchGAN discriminators for each domain, least-squares adversarial losses, cycle
 * consistency (F(G(a)) ~ a, G(F(b)) ~ b) and identity (G(b) ~ b, F(a) ~ a). The trained G is a
 * plain generator the compression pipeline can distil from.
 */
import * as tf from '@tensorflow/tfjs';
import { buildPatchDiscriminator } from '../models/discriminator';
import type { ImageDataset } from '../data/dataset';
import { buildGenerator, type GeneratorSpec } from '../models/zoo';
import { l1, lsganDiscriminator, lsganGenerator } from './losses';
import { Rng } from './rng';
import { lrFactor, setLearningRate, WeightEma, type LrSchedule } from './schedule';

export interface CycleGanWeights {
  cycle: number;
  identity: number;
}

export interface CycleGanLosses {
  generator: number;
  adversarial: number;
  cycle: number;
  identity: number;
  discriminator: number;
}

export class CycleGanTrainer {
  readonly discA: tf.LayersModel;
  readonly discB: tf.LayersModel;
  private readonly optG: tf.Optimizer;
  private readonly optD: tf.Optimizer;

  constructor(
    readonly gAB: tf.LayersModel,
    readonly gBA: tf.LayersModel,
    size: number,
    lr = 2e-4,
    readonly weights: CycleGanWeights = { cycle: 10, identity: 5 },
  ) {
    const c = gAB.inputs[0].shape[3]!;
    // Unconditional discriminators: they judge single images of their domain.
    this.discA = buildPatchDiscriminator(0, c, size, 16, 31);
    this.discB = buildPatchDiscriminator(0, c, size, 16, 37);
    this.optG = tf.train.adam(lr, 0.5, 0.999);
    this.optD = tf.train.adam(lr, 0.5, 0.999);
  }

  /** Both optimizers' rate (the schedule sets it every step). */
  setLearningRate(lr: number): void {
    for (const o of [this.optG, this.optD]) setLearningRate(o, lr);
  }

  static vars(...models: tf.LayersModel[]): tf.Variable[] {
    return models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
  }

  /** One generator step and one discriminator step on a batch from each domain. */
  async step(a: tf.Tensor4D, b: tf.Tensor4D): Promise<CycleGanLosses> {
    const { cycle: wc, identity: wi } = this.weights;
    const parts: tf.Scalar[] = [];
    const gLoss = this.optG.minimize(
      () => {
        const fakeB = this.gAB.apply(a, { training: true }) as tf.Tensor4D;
        const fakeA = this.gBA.apply(b, { training: true }) as tf.Tensor4D;
        const adv = tf.add(lsganGenerator(this.discB.apply(fakeB) as tf.Tensor), lsganGenerator(this.discA.apply(fakeA) as tf.Tensor));
        const cyc = tf.add(l1(this.gBA.apply(fakeB, { training: true }) as tf.Tensor, a), l1(this.gAB.apply(fakeA, { training: true }) as tf.Tensor, b));
        const idt = tf.add(l1(this.gAB.apply(b, { training: true }) as tf.Tensor, b), l1(this.gBA.apply(a, { training: true }) as tf.Tensor, a));
        parts.push(tf.keep(adv.clone() as tf.Scalar), tf.keep(cyc.clone() as tf.Scalar), tf.keep(idt.clone() as tf.Scalar));
        return tf.addN([adv, tf.mul(wc, cyc), tf.mul(wi, idt)]) as tf.Scalar;
      },
      true,
      CycleGanTrainer.vars(this.gAB, this.gBA),
    )!;
    const [fakeA, fakeB] = tf.tidy(() => [this.gBA.predict(b) as tf.Tensor4D, this.gAB.predict(a) as tf.Tensor4D]);
    const dLoss = this.optD.minimize(
      () =>
        tf.add(
          lsganDiscriminator(this.discA.apply(a) as tf.Tensor, this.discA.apply(fakeA) as tf.Tensor),
          lsganDiscriminator(this.discB.apply(b) as tf.Tensor, this.discB.apply(fakeB) as tf.Tensor),
        ) as tf.Scalar,
      true,
      CycleGanTrainer.vars(this.discA, this.discB),
    )!;
    const read = tf.stack([gLoss, ...parts, dLoss]);
    const [generator, adversarial, cycle, identity, discriminator] = await read.data();
    tf.dispose([read, gLoss, dLoss, fakeA, fakeB, ...parts]);
    return { generator, adversarial, cycle, identity, discriminator };
  }

  dispose(): void {
    this.discA.dispose();
    this.discB.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}

/**
 * Trains G: A -> B (and its inverse) from scratch on two unpaired image sets with random flips,
 * reporting the losses every `reportEvery` steps. Returns G: A -> B; everything else is freed.
 */
export async function trainCycleGan(o: {
  a: ImageDataset;
  b: ImageDataset;
  generator: GeneratorSpec;
  steps: number;
  seed: number;
  lr?: number;
  /** Images per domain per step (default 1, as in the paper). */
  batch?: number;
  /** Learning-rate schedule (default: constant). */
  schedule?: LrSchedule;
  /** EMA decay of G: A -> B's weights (0: off); the returned G is the average. */
  ema?: number;
  reportEvery?: number;
  onReport?: (step: number, losses: CycleGanLosses) => void;
}): Promise<{ model: tf.LayersModel; losses: CycleGanLosses }> {
  const size = o.a.inputs.shape[1];
  const trainer = new CycleGanTrainer(buildGenerator({ ...o.generator, seed: o.seed }), buildGenerator({ ...o.generator, seed: o.seed + 1 }), size, o.lr);
  const rng = new Rng(o.seed);
  const ema = o.ema ? new WeightEma(CycleGanTrainer.vars(trainer.gAB), o.ema) : null;
  let losses!: CycleGanLosses;
  try {
    for (let step = 1; step <= o.steps; step++) {
      trainer.setLearningRate((o.lr ?? 2e-4) * lrFactor(step - 1, o.steps, o.schedule ?? { warmup: 0, decay: 'constant' }));
      const a = o.a.batch(rng, o.batch ?? 1, true).x;
      const b = o.b.batch(rng, o.batch ?? 1, true).x;
      losses = await trainer.step(a, b);
      tf.dispose([a, b]);
      ema?.update(step - 1);
      if (!Number.isFinite(losses.generator)) throw new Error(`CycleGAN training diverged at step ${step} (generator loss ${losses.generator}); lower the learning rate`);
      if (step % (o.reportEvery ?? 100) === 0 || step === o.steps) o.onReport?.(step, losses);
    }
    ema?.applyTo();
  } catch (e) {
    trainer.gAB.dispose();
    throw e;
  } finally {
    ema?.dispose();
    trainer.gBA.dispose();
    trainer.dispose();
  }
  return { model: trainer.gAB, losses };
}
