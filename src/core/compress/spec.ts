/**
 * The run spec of a compression run: plain JSON, no tfjs (the page builds it too), validated once
 * by one schema wherever a spec enters: the CLI's options and --spec file, the studio's form, a
 * stored run or checkpoint being resumed.
 */
import * as v from 'valibot';
import type { InputRange } from '../data/dataset';
import type { LrSchedule } from '../train/schedule';
import { parseBudget, type Budget } from './budget';

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
  /**
   * How condensation removes channels. 'decay': the groups a budget selects (see selection) are
   * scaled down to exactly zero over the first 60% of its steps while the rest of the network,
   * trained to match the original's output, takes over their function; pruning then removes
   * exactly them and distillation learns from the original. 'prox': a group soft-threshold on
   * every group after each optimizer step (sparsity), pruning ranks what it leaves.
   */
  condensation: 'decay' | 'prox';
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
  /**
   * How a MACs, params or FPS budget picks the groups to remove: 'importance' ranks them by the
   * output change they cause per MAC saved, re-scored in rounds (importance.ts); 'magnitude' by
   * their parameters' size relative to their layer.
   */
  selection: 'importance' | 'magnitude';
  /**
   * Importance selection keeps each pruned convolution's output channels at a multiple of this (or
   * whole): tfjs-wasm computes a convolution's outputs in tiles of 8, so 1 to 8 channels cost the
   * same time. 1: any count (what onnxruntime-web, whose cost grows with every channel, prefers).
   */
  channelMultiple: number;
  /** Refit the convolutions after slicing so they reproduce the unpruned layers (refit.ts). */
  compensate: boolean;
  /**
   * Gradual pruning: a MACs or params budget is reached in this many prune -> distill rounds, the
   * kept share falling geometrically (0.1 in 3 rounds: 0.46, 0.22, 0.1), each round pruning the
   * previous round's student and distilling it from the original; distillation's steps (or time)
   * are shared equally. FPS and threshold budgets, and condensation by decay, prune once.
   */
  pruneRounds: number;
  /**
   * Distillation computes the teacher's outputs once for up to this many augmented crops and
   * draws its batches from them (0: the teacher runs on fresh crops every step).
   */
  teacherCache: number;
  /**
   * Wall-time budget of the whole run in seconds (null: the step counts decide). Distillation
   * takes the time left when it starts, at the speed measured on the pruned model.
   */
  time: number | null;
  /** Loss weights. output: `pixelLoss` to the reference (targets or teacher); groundTruth: the same to the targets while distilling. */
  loss: { output: number; ssim: number; feature: number; groundTruth: number; adversarial: number };
  /**
   * Per-pixel distance of the output and groundTruth terms: L1, or squared error (its optimum is
   * the conditional mean, the output PSNR scores best).
   */
  pixelLoss: 'l1' | 'mse';
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
  batchSize: 8,
  steps: { train: 0, condense: 0, distill: 300 },
  lr: { train: 2e-4, condense: 2e-4, distill: 1e-3 },
  schedule: { warmup: 0.03, decay: 'cosine' },
  beta1: 0.9,
  ema: 0,
  condensation: 'decay',
  sparsity: 0.02,
  condenseToBudget: false,
  budget: null,
  teacher: 'condensed',
  selection: 'importance',
  channelMultiple: 1,
  compensate: true,
  pruneRounds: 1,
  teacherCache: 1024,
  time: null,
  loss: { output: 1, ssim: 0, feature: 0, groundTruth: 0, adversarial: 0 },
  // At 10x fewer MACs and 1000 distillation steps: +0.40 dB against the base on face -> cartoon,
  // +0.45 dB on mask -> face over L1 (README, Ablation).
  pixelLoss: 'mse',
  flip: true,
  jitter: 0,
  checkpointEvery: 50,
  sampleEvery: 50,
  latencyRuns: 10,
};


/** Fields added to RunSpec later, with the behaviour runs stored before them had. */
export const SPEC_BEFORE_FIELDS: Partial<RunSpec> = {
  schedule: { warmup: 0, decay: 'constant' },
  beta1: 0.5,
  ema: 0,
  condensation: 'prox',
  selection: 'magnitude',
  channelMultiple: 1,
  compensate: false,
  pruneRounds: 1,
  teacherCache: 0,
  time: null,
  pixelLoss: 'l1',
};

/**
 * The recipe for training a base model (alap train, the studio's train job, the shipped presets):
 * batches, Adam with beta1 0.9, a 3% warm-up then cosine decay to zero, and an EMA of the weights.
 * Before/after on the shipped bases: README, *Built-in tasks and shipped base models*.
 */
export const TRAIN_RECIPE: Pick<RunSpec, 'batchSize' | 'schedule' | 'beta1' | 'ema' | 'loss' | 'pixelLoss'> & { lr: number } = {
  batchSize: 8,
  lr: 2e-3,
  schedule: { warmup: 0.03, decay: 'cosine' },
  beta1: 0.9,
  ema: 0.999,
  loss: { ...DEFAULT_SPEC.loss, ssim: 0.2 },
  // The shipped bases were trained with L1 (+ 0.2 SSIM); squared error measured +0.53 / +0.28 dB
  // against the filter on held-out photos (64 / 256 px) for face -> cartoon at 1100 steps.
  pixelLoss: 'mse',
};

const count = (min: number) => v.pipe(v.number(), v.integer(`must be a whole number`), v.minValue(min, `must be at least ${min}`));
const amount = v.pipe(v.number(), v.finite('must be a finite number'), v.minValue(0, 'must be at least 0'));
const fraction = v.pipe(v.number(), v.minValue(0, 'must be at least 0'), v.maxValue(1, 'must be at most 1'));
const perStage = (item: typeof amount | ReturnType<typeof count>) => v.strictObject({ train: item, condense: item, distill: item });
const oneOf = <const T extends string[]>(...options: T) => v.picklist(options, `must be one of ${options.join(', ')}`);

/** The kind of a budget as written, or null when there is none or it does not parse (its own field says why). */
function budgetKind(text: string | null): Budget['kind'] | null {
  try {
    return text === null ? null : parseBudget(text).kind;
  } catch {
    return null;
  }
}

/** Every field of RunSpec with its valid values; unknown keys are refused (a typo must not pass silently). */
export const RUN_SPEC_SCHEMA = v.pipe(
  v.strictObject({
    task: oneOf('compress', 'train'),
    size: count(8),
    inputRange: oneOf('-1,1', '0,1', '0,255'),
    seed: count(0),
    batchSize: count(1),
    steps: perStage(count(0)),
    lr: perStage(amount),
    schedule: v.strictObject({ warmup: fraction, decay: oneOf('constant', 'cosine') }),
    beta1: v.pipe(v.number(), v.minValue(0, 'must be at least 0'), v.maxValue(0.999999, 'must be below 1')),
    ema: v.pipe(v.number(), v.minValue(0, 'must be at least 0'), v.maxValue(0.999999, 'must be below 1')),
    condensation: oneOf('decay', 'prox'),
    sparsity: amount,
    condenseToBudget: v.boolean('must be true or false'),
    budget: v.nullable(
      v.pipe(
        v.string(),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          try {
            parseBudget(dataset.value);
          } catch (e) {
            addIssue({ message: (e as Error).message });
          }
        }),
      ),
    ),
    teacher: oneOf('condensed', 'original'),
    selection: oneOf('importance', 'magnitude'),
    channelMultiple: count(1),
    compensate: v.boolean('must be true or false'),
    pruneRounds: count(1),
    teacherCache: count(0),
    time: v.nullable(v.pipe(v.number(), v.minValue(1, 'must be at least 1 second'))),
    loss: v.strictObject({ output: amount, ssim: amount, feature: amount, groundTruth: amount, adversarial: amount }),
    pixelLoss: oneOf('l1', 'mse'),
    flip: v.boolean('must be true or false'),
    jitter: amount,
    checkpointEvery: count(1),
    sampleEvery: count(0),
    latencyRuns: count(1),
  }),
  v.check((spec) => spec.channelMultiple === 1 || spec.selection === 'importance', 'a channelMultiple above 1 needs selection importance'),
  // Only importance ranking against a macs / params / fps budget removes channels in tiles; a
  // threshold or no budget removes what condensation zeroed and would ignore the multiple.
  v.check((spec) => spec.channelMultiple === 1 || ['macs', 'params', 'fps'].includes(budgetKind(spec.budget) ?? ''), 'a channelMultiple above 1 needs a macs, params or fps budget'),
);

/** `input` as a RunSpec, or one error naming `source` and every field that is wrong. */
export function parseRunSpec(input: unknown, source: string): RunSpec {
  const result = v.safeParse(RUN_SPEC_SCHEMA, input);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    if (issue.type === 'strict_object' && issue.expected === 'never') return `unknown key '${path}'`;
    if (issue.kind === 'schema' && issue.received === 'undefined') return `${path} is missing`;
    if (issue.kind === 'schema' || issue.type === 'raw_check' || issue.type === 'check') return `${path ?? 'the spec'}: ${issue.message}`;
    return `${path} ${issue.message} (got ${JSON.stringify(issue.input)})`;
  });
  throw new Error(`${source} is not a valid run spec: ${problems.join('; ')}`);
}
