/** The run spec of a compression run: plain JSON, no tfjs (the page builds it too). */
import type { InputRange } from '../data/dataset';
import type { LrSchedule } from '../train/schedule';

export type TrainingStage = 'train' | 'condense' | 'distill';

export interface RunSpec {
  /** 'train' trains a base model only; 'compress' runs condense -> prune -> distill. */
  task: 'compress' | 'train';
  /** Training crop size (square). */
  size: number;
  inputRange: InputRange;
  seed: number;
  batchSize: number;
  /** Steps per training stage; a stage with 0 steps is skipped (train is 0 unless base training). */
  steps: Record<TrainingStage, number>;
  lr: Record<TrainingStage, number>;
  /** Learning-rate schedule of every training stage (warm-up fraction, then constant or cosine to zero). */
  schedule: LrSchedule;
  /** Adam's beta1: 0.5 as in pix2pix (adversarial training); 0.9 suits plain regression. */
  beta1: number;
  /** Decay of an exponential moving average of the weights (0: off); a stage's result is the average. */
  ema: number;
  /** Total shrink condensation applies, in units of the mean initial group norm. */
  sparsity: number;
  /**
   * Strengthen condensation until the groups it zeroes alone meet a MACs/params budget. Off by
   * default: in short runs forcing that much sparsity wrecked the model (mask -> face at 10x:
   * 20 dB vs the base instead of 32); pruning meets the budget by ranking the condensed groups.
   */
  condenseToBudget: boolean;
  /** 'macs=0.25', 'params=0.5' or 'threshold=T'; null removes exactly the groups condensation zeroed. */
  budget: string | null;
  teacher: 'condensed' | 'original';
  /** Loss weights. output: L1 to the reference (targets or teacher). */
  loss: { output: number; ssim: number; feature: number; groundTruth: number; adversarial: number };
  /** Augmentation: random left-right flips; resize to size * (1 + jitter), then random size crops. */
  flip: boolean;
  jitter: number;
  checkpointEvery: number;
  /** Steps between sample images in progress reports (0: none). */
  sampleEvery: number;
  latencyRuns: number;
}

export const DEFAULT_SPEC: RunSpec = {
  task: 'compress',
  size: 128,
  inputRange: '-1,1',
  seed: 1,
  batchSize: 1,
  steps: { train: 0, condense: 300, distill: 300 },
  lr: { train: 2e-4, condense: 2e-4, distill: 2e-4 },
  schedule: { warmup: 0, decay: 'constant' },
  beta1: 0.5,
  ema: 0,
  sparsity: 0.02,
  condenseToBudget: false,
  budget: null,
  teacher: 'condensed',
  loss: { output: 1, ssim: 0.2, feature: 1, groundTruth: 0, adversarial: 0 },
  flip: true,
  jitter: 0,
  checkpointEvery: 50,
  sampleEvery: 50,
  latencyRuns: 10,
};


/**
 * The recipe for training a base model (alap train, the studio's train job, the shipped presets):
 * batches, Adam with beta1 0.9, a 3% warm-up then cosine decay to zero, and an EMA of the weights.
 * Before/after on the shipped bases: README, *Built-in tasks and shipped base models*.
 */
export const TRAIN_RECIPE: Pick<RunSpec, 'batchSize' | 'schedule' | 'beta1' | 'ema'> & { lr: number } = {
  batchSize: 8,
  lr: 2e-3,
  schedule: { warmup: 0.03, decay: 'cosine' },
  beta1: 0.9,
  ema: 0.999,
};
