/**
 * The resumable stage machine: [train] -> condense -> prune -> distill -> report. Every stage
 * checkpoints through the injected store (models, optimizer state, RNG, step), so a run killed at
 * any point resumes from its last checkpoint and ends with the same weights as an uninterrupted
 * run with the same seed. This module runs the stages in order; they live in train-stage.ts
 * (train, condense, distill), prune-stage.ts and report-stage.ts, and share a RunContext
 * (run-context.ts: spec, state, checkpoint files, models by role, RNG).
 */
import * as tf from '@tensorflow/tfjs';
import type { Latency, LatencyMeasurer } from '../measure/latency';
import type { QualityPair } from '../measure/quality';
import { cloneModel } from '../io/model-files';
import type { CheckpointStore } from '../io/checkpoint';
import type { ImageDataset } from '../data/dataset';
import type { ThroughputMeasurer } from '../train/run-size';
import { DEFAULT_SPEC, parseRunSpec, SPEC_BEFORE_FIELDS, type RunSpec, type TrainingStage } from './spec';
import { firstStage, nextStage, type Stage } from './stages';
import type { FpsTry } from './fps-budget';
import { PipelineStopped, RunContext, type State } from './run-context';
import { trainStage } from './train-stage';
import { pruneStage } from './prune-stage';
import { reportStage } from './report-stage';

export { DEFAULT_SPEC, PipelineStopped, type RunSpec, type TrainingStage };

export interface Progress {
  stage: Stage;
  step: number;
  steps: number;
  losses: Record<string, number>;
  /** Condensation: prunable groups at exactly zero. */
  deadGroups?: number;
  /** Condensation by decay: the remaining scale of the decaying channel groups (1 -> 0). */
  decayingScale?: number;
  alive?: { layer: string; alive: number; total: number }[];
  etaSeconds: number;
  elapsedSeconds: number;
  /** Gradual pruning: which prune -> distill round this is (1-based). */
  round?: { at: number; of: number };
  /** Learning rate of this step and the stage's pace since it (re)started. */
  lr: number;
  stepsPerSecond: number;
  /** Live tensors and their bytes on the backend (GPU bytes allocated, where the backend says). */
  memory: { tensors: number; bytes: number; gpuBytes?: number };
  /** The first held-out image through the model being trained, now and then (see sampleEvery). */
  samples?: Samples;
}

/** RGBA images (bytes) of one held-out example: input, reference (target or teacher), output. */
export interface Samples {
  width: number;
  height: number;
  input: Uint8ClampedArray;
  reference: Uint8ClampedArray | null;
  output: Uint8ClampedArray;
}

export interface RunReport {
  /** The spec the run ran with (seed included): `alap compress --spec report.json` runs it again. */
  spec: RunSpec;
  /** Versions of alap and tfjs that made it. */
  versions: { alap: string; tfjs: string };
  backend: string;
  device: string;
  size: [number, number];
  stages: Stage[];
  macs: { before: number; after: number; ratio: number };
  params: { before: number; after: number; ratio: number };
  removedGroups: number;
  /** How groups were chosen, and what refitting the convolutions after slicing did (see refit.ts). */
  selection: RunSpec['selection'];
  compensation?: Compensation;
  /** Distillation steps run (from the time budget, where the run had one), all rounds together. */
  distillSteps: number;
  /** Gradual pruning: the prune -> distill rounds run (absent: one). */
  pruneRounds?: number;
  /** Distillation left the student further from the teacher (on training crops) than pruning did, so the pruned student was kept. */
  distillReverted?: boolean;
  /** Student vs the original model on held-out images. */
  studentVsOriginal: QualityPair;
  /** Against held-out targets, where the data is paired. */
  vsTargets?: { original: QualityPair; student: QualityPair };
  latency: { before: Latency; after: Latency; speedup: number };
  /** FPS budgets: target vs achieved, measured at the budget's resolution on this backend. */
  fps?: { target: number; size: number; before: Latency; after: Latency; met: boolean; search: FpsTry[] };
  seconds: Partial<Record<Stage, number>>;
}

export interface Compensation {
  /** Convolutions refitted, and their mean relative output error before and after. */
  layers: number;
  errorBefore: number;
  errorAfter: number;
  /** Student vs the model it was cut from on held-out images: sliced, then refitted (zero steps). */
  sliced: QualityPair;
  refitted: QualityPair;
  skipped: { name: string; why: string }[];
  seconds: number;
}

export interface PipelineOptions {
  /** Ignored when resuming: a run keeps the spec it started with. */
  spec: RunSpec;
  /** Caller's notes kept in the checkpoint (e.g. the CLI's data folders), see readRunMeta. */
  meta?: Record<string, unknown>;
  /** The model to compress (or, with steps.train > 0, the freshly built model to train first). */
  model: tf.LayersModel;
  train: ImageDataset;
  test: ImageDataset;
  store: CheckpointStore;
  onProgress?: (p: Progress) => void;
  /** Checked after every step: when set, the run checkpoints and stops with PipelineStopped. */
  shouldStop?: () => boolean;
  /** Backend and device description for the report. */
  backend: string;
  device: string;
  /**
   * How latencies are obtained (FPS-budget search and the report); default: timed on this
   * backend, on the copy with batch norms folded that Live runs. Tests pass a deterministic cost
   * model so no assertion depends on the machine's speed.
   */
  measureLatency?: LatencyMeasurer;
  /** How training speed is measured to size distillation to spec.time; default: real steps timed here. */
  measureThroughput?: (model: tf.LayersModel) => ThroughputMeasurer;
}

/** The spec and caller notes of a stored run, or null when the store is empty. */
export async function readRunMeta(store: CheckpointStore): Promise<{ spec: RunSpec; meta: Record<string, unknown>; stage: Stage } | null> {
  const saved = await store.load();
  if (!saved) return null;
  const state = saved.state as State;
  return { spec: state.spec, meta: state.meta, stage: state.stage };
}

export interface PipelineResult {
  /** The compressed model (task 'compress') or the trained base model (task 'train'). */
  student: tf.LayersModel;
  /** Compression report; null for task 'train'. */
  report: RunReport | null;
}

/**
 * Runs (or resumes) a compression run. Returns the student and the report; all intermediate
 * tensors and models it creates are disposed.
 */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const { store } = opts;
  const saved = await store.load();
  const files: Record<string, Uint8Array> = saved ? { ...saved.files } : {};
  const state: State = saved
    ? (saved.state as State)
    : {
        version: 1,
        stage: firstStage(opts.spec),
        step: 0,
        rng: opts.spec.seed,
        boost: 1,
        norm0: 0,
        removed: [],
        seconds: {},
        models: {},
        report: null,
        spec: opts.spec,
        meta: opts.meta ?? {},
      };
  // Runs stored before a spec field existed keep the behaviour they started with.
  const spec = parseRunSpec({ ...DEFAULT_SPEC, ...(saved && SPEC_BEFORE_FIELDS), ...state.spec }, saved ? 'The stored run' : 'The run');
  const ctx = new RunContext(opts, spec, state, files);
  if (!saved) {
    if ((spec.steps.train > 0 || spec.task === 'train') && !opts.train.paired) {
      throw new Error('Base training needs paired data (inputs and targets)');
    }
    await ctx.putModel('original', await cloneModel(opts.model), 'original');
    await ctx.checkpoint();
  }

  ctx.t0 = performance.now();
  try {
    while (state.stage !== 'done') {
      ctx.stageStart = performance.now() - (state.seconds[state.stage] ?? 0) * 1000;
      if (state.stage === 'train' || state.stage === 'condense' || state.stage === 'distill') {
        await trainStage(ctx, state.stage);
      } else if (state.stage === 'prune') {
        await pruneStage(ctx);
      } else if (state.stage === 'report') {
        state.report = await reportStage(ctx);
      }
      ctx.tick();
      const next = nextStage(spec, state.stage);
      if (next === 'report' && ctx.round() + 1 < ctx.rounds()) {
        state.distillStepsBefore = (state.distillStepsBefore ?? 0) + (nextStage(spec, 'prune') === 'distill' ? ctx.stageSteps('distill') : 0);
        state.removedBefore = (state.removedBefore ?? 0) + state.removed.length;
        state.distillSteps = undefined;
        state.round = ctx.round() + 1;
        state.stage = 'prune';
      } else {
        state.stage = next;
      }
      state.step = 0;
      await ctx.checkpoint();
    }
    const student = await cloneModel(await ctx.model(spec.task === 'train' ? 'original' : 'student'));
    return { student, report: state.report };
  } finally {
    ctx.dispose();
  }
}
