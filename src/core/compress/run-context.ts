/**
 * What the stages of one compression run share: its spec and options, the checkpointed state and
 * files, the models by role (loaded from the files on first use), the RNG, and the bookkeeping
 * of gradual-pruning rounds, steps and wall time. The stages are train-stage.ts, prune-stage.ts
 * and report-stage.ts; pipeline.ts runs them in order.
 */
import * as tf from '@tensorflow/tfjs';
import { modelFromFiles, modelToFiles } from '../io/checkpoint';
import { predictAll } from '../measure/quality';
import { toRgba } from '../measure/samples';
import { Rng } from '../train/rng';
import { parseBudget, type Budget } from './budget';
import type { FpsTry } from './fps-budget';
import type { Compensation, PipelineOptions, RunReport, Samples } from './pipeline';
import type { RunSpec, TrainingStage } from './spec';
import { nextStage, type Stage } from './stages';

/** Training crops that score channels (importance.ts) and that convolutions are refitted on (refit.ts). */
export const SCORING_IMAGES = 16;
export const REFIT_IMAGES = 32;

export class PipelineStopped extends Error {
  constructor(
    readonly stage: Stage,
    readonly step: number,
  ) {
    super(`Run stopped at ${stage} step ${step}; it can be resumed from its last checkpoint`);
    this.name = 'PipelineStopped';
  }
}

export interface State {
  [key: string]: unknown;
  version: 1;
  stage: Stage;
  step: number;
  rng: number;
  /** Condensation's adaptive multiplier on the sparsity strength (budget runs). */
  boost: number;
  /** Mean initial group norm, the unit of the sparsity strength. */
  norm0: number;
  removed: number[];
  /** FPS budgets: the MACs share condensation aims for (measured on the original) and the prune search. */
  fpsKeep?: number;
  fpsSearch?: FpsTry[];
  compensation?: Compensation;
  /** Condensation by decay: the groups it drives to zero (then exactly what pruning removes). */
  condenseTargets?: number[];
  /** Distillation steps of this round, fixed (from the time budget) when its distillation started. */
  distillSteps?: number;
  /** Gradual pruning: the round under way (0-based); groups removed and distillation steps run in finished rounds. */
  round?: number;
  removedBefore?: number;
  distillStepsBefore?: number;
  /** Distillation ended further from the teacher than the pruned student: that one was kept. */
  distillReverted?: boolean;
  seconds: Partial<Record<Stage, number>>;
  /** Checkpoint files of the models, by role. */
  models: Record<string, string>;
  report: RunReport | null;
  spec: RunSpec;
  meta: Record<string, unknown>;
}

export class RunContext {
  /** Loaded models by role ('original', 'work', 'pruned', 'student', ...), disposed at the end. */
  readonly models = new Map<string, tf.LayersModel>();
  /** Optimizers, EMAs, adapters and pools of the stages, disposed at the end. */
  readonly disposables: { dispose(): void }[] = [];
  readonly rng: Rng;
  /** The spec's budget, parsed once (rounds() reads it at every step). */
  readonly specBudget: Budget | null;
  /** When the run (this process's part of it) started, and when the current stage did (resumed time included). */
  t0 = performance.now();
  stageStart = 0;

  constructor(
    readonly opts: PipelineOptions,
    readonly spec: RunSpec,
    readonly state: State,
    readonly files: Record<string, Uint8Array>,
  ) {
    this.rng = new Rng(state.rng);
    this.specBudget = spec.budget ? parseBudget(spec.budget) : null;
  }

  async model(role: string): Promise<tf.LayersModel> {
    let m = this.models.get(role);
    if (!m) {
      m = await modelFromFiles(this.files, this.state.models[role]);
      this.models.set(role, m);
    }
    return m;
  }

  async putModel(role: string, m: tf.LayersModel, key: string): Promise<void> {
    const old = this.models.get(role);
    if (old && old !== m) old.dispose();
    Object.assign(this.files, await modelToFiles(m, key));
    this.state.models[role] = key;
    this.models.set(role, m);
  }

  async checkpoint(extra: Record<string, Uint8Array> = {}): Promise<void> {
    this.state.rng = this.rng.state;
    // Only files the current state refers to are kept: models by role plus this step's extras.
    const keep: Record<string, Uint8Array> = {};
    for (const key of Object.values(this.state.models)) {
      for (const suffix of ['.model.json', '.weights.bin']) keep[key + suffix] = this.files[key + suffix];
    }
    await this.opts.store.save({ state: structuredClone(this.state), files: { ...keep, ...extra } });
    for (const k of Object.keys(this.files)) if (!(k in keep)) delete this.files[k];
    Object.assign(this.files, extra);
  }

  /** Records the current stage's wall time so far (carried across resumes). */
  tick(): void {
    this.state.seconds[this.state.stage] = (performance.now() - this.stageStart) / 1000;
  }

  /** Whether `a` is closer than `b` to the teacher's output (mean absolute error) on the calibration crops. */
  async closerToTeacher(a: tf.LayersModel, b: tf.LayersModel, teacher: tf.LayersModel): Promise<boolean> {
    const images = this.calibrationImages(REFIT_IMAGES);
    const reference = predictAll(teacher, images);
    const error = async (m: tf.LayersModel) => {
      const out = predictAll(m, images);
      const e = tf.tidy(() => tf.mean(tf.abs(tf.sub(out, reference))));
      const value = (await e.data())[0];
      tf.dispose([out, e]);
      return value;
    };
    const [ea, eb] = [await error(a), await error(b)];
    tf.dispose([images, reference]);
    return ea < eb;
  }

  async samples(current: tf.LayersModel, teacherModel: tf.LayersModel | null): Promise<Samples> {
    const x = tf.slice(this.opts.test.inputs, 0, 1) as tf.Tensor4D;
    const reference = teacherModel ? (teacherModel.predict(x) as tf.Tensor4D) : this.opts.test.targets ? (tf.slice(this.opts.test.targets, 0, 1) as tf.Tensor4D) : null;
    const output = current.predict(x) as tf.Tensor4D;
    const [, height, width] = x.shape;
    const rgba = (t: tf.Tensor4D) => toRgba(t, this.spec.inputRange);
    const result = { width, height, input: await rgba(x), reference: reference ? await rgba(reference) : null, output: await rgba(output) };
    tf.dispose([x, reference, output] as tf.TensorContainer);
    return result;
  }

  fpsSize(budget: Extract<Budget, { kind: 'fps' }>): [number, number] {
    const size = budget.size ?? this.spec.size;
    return [size, size];
  }

  stageSteps(stage: TrainingStage): number {
    if (stage !== 'distill') return this.spec.steps[stage];
    // Without a time budget, gradual pruning shares the steps equally among its rounds.
    const upTo = (r: number) => Math.floor((this.spec.steps.distill * r) / this.rounds());
    return this.state.distillSteps ?? upTo(this.round() + 1) - upTo(this.round());
  }

  round(): number {
    return this.state.round ?? 0;
  }

  /** Prune -> distill rounds of this run: gradual pruning applies to MACs and params budgets only. */
  rounds(): number {
    return this.specBudget && (this.specBudget.kind === 'macs' || this.specBudget.kind === 'params') && !this.state.condenseTargets ? Math.max(1, this.spec.pruneRounds) : 1;
  }

  remainingSteps(stage: TrainingStage): number {
    let total = 0;
    for (let s = nextStage(this.spec, stage); s !== 'done'; s = nextStage(this.spec, s)) {
      if (s === 'train' || s === 'condense' || s === 'distill') total += this.stageSteps(s);
    }
    // Later rounds of gradual pruning distil about as long as this one.
    return total + (this.rounds() - this.round() - 1) * this.stageSteps('distill');
  }

  /** A fixed set of training crops (own seed, so a resumed run uses the same) for scoring and refitting. */
  calibrationImages(count: number): tf.Tensor4D {
    const { x, y } = this.opts.train.batch(new Rng(this.spec.seed + 400), count, false, this.spec.size);
    y?.dispose();
    return x;
  }

  /** Runs `f` on the crops that score channels, freed after. */
  async withScoringImages<T>(f: (images: tf.Tensor4D) => Promise<T>): Promise<T> {
    const images = this.calibrationImages(SCORING_IMAGES);
    try {
      return await f(images);
    } finally {
      images.dispose();
    }
  }

  dispose(): void {
    for (const m of this.models.values()) m.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
