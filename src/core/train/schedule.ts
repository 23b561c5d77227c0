/**
 * The training recipe's moving parts: a learning-rate schedule (linear warm-up, then constant or
 * cosine decay to zero) and an exponential moving average of the weights. Both are pure functions
 * of the step, so a resumed run reproduces an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';

export interface LrSchedule {
  /** Fraction of the stage's steps spent warming up linearly from 0 to the base rate. */
  warmup: number;
  /** After warm-up: keep the base rate, or follow a half cosine down to zero at the last step. */
  decay: 'constant' | 'cosine';
}

/** Multiplier of the base learning rate for step `step` (0-based) of `steps`. */
export function lrFactor(step: number, steps: number, s: LrSchedule): number {
  const warm = Math.floor(s.warmup * steps);
  if (step < warm) return (step + 1) / (warm + 1);
  if (s.decay === 'constant') return 1;
  const t = (step - warm) / Math.max(1, steps - warm);
  return 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Sets an optimizer's rate for its next steps (tfjs optimizers read `learningRate` on every step). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/**
 * EMA of a list of variables. The effective decay ramps up as min(decay, (1 + t) / (10 + t)), so
 * early steps are not averaged with the random initialisation for long.
 */
export class WeightEma {
  readonly averages: tf.Variable[];

  constructor(
    private readonly vars: tf.Variable[],
    readonly decay: number,
  ) {
    this.averages = vars.map((v, i) => tf.variable(v, false, `ema_${i}_${v.name}`));
  }

  /** Folds in the current weights after optimizer step `step` (0-based). */
  update(step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => this.averages.forEach((a, i) => a.assign(tf.add(tf.mul(a, d), tf.mul(this.vars[i], 1 - d)))));
  }

  /** Copies the averages into the variables (the stage's result). */
  applyTo(): void {
    this.vars.forEach((v, i) => v.assign(this.averages[i]));
  }

  dispose(): void {
    tf.dispose(this.averages);
  }
}
