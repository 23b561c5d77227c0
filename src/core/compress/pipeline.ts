/**
 * The resumable stage machine: [train] -> condense -> prune -> distill -> report. Every stage
 * checkpoints through the injected store (models, optimizer state, RNG, step), so a run killed at
 * any point resumes from its last checkpoint and ends with the same weights as an uninterrupted
 * run with the same seed.
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../graph/channel-graph';
import { modelCost } from '../measure/cost';
import { foldedMeasurer, timedMeasurer, type Latency, type LatencyMeasurer } from '../measure/latency';
import { predictAll, quality, type QualityPair } from '../measure/quality';
import { buildPatchDiscriminator } from '../models/discriminator';
import { cloneModel } from '../io/model-files';
import {
  modelFromFiles,
  modelToFiles,
  tensorsFromFiles,
  tensorsToFiles,
  type CheckpointStore,
  type NamedTensor,
} from '../io/checkpoint';
import { rangeWidth, type ImageDataset } from '../data/dataset';
import { toRgba } from '../measure/samples';
import { l1, lsganDiscriminator, lsganGenerator, ssimLoss, weighted } from '../train/losses';
import { Rng } from '../train/rng';
import { lrFactor, setLearningRate, WeightEma } from '../train/schedule';
import { stepsForTime, type ThroughputMeasurer } from '../train/run-size';
import { timedTrainingThroughput } from '../train/throughput';
import { GroupSparsity } from './condense';
import { DEFAULT_SPEC, parseRunSpec, SPEC_BEFORE_FIELDS, type RunSpec, type TrainingStage } from './spec';
import { firstStage, inRunOrder, nextStage, type Stage } from './stages';
import { version as alapVersion } from '../../../package.json';

export { DEFAULT_SPEC, type RunSpec, type TrainingStage };
import { createAdapters, featureLayers, featureLoss, TeacherPool, withFeatures } from './distill';
import { importanceOrder, selectByImportance } from './importance';
import { parseBudget, type Budget } from './budget';
import { pruneModel, scaleGroups, selectGroups } from './prune';
import { refitConvolutions } from './refit';
import { selectForFps, type FpsTry } from './fps-budget';

/** Training crops that score channels (importance.ts) and that convolutions are refitted on (refit.ts). */
const SCORING_IMAGES = 16;
const REFIT_IMAGES = 32;

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

export class PipelineStopped extends Error {
  constructor(
    readonly stage: Stage,
    readonly step: number,
  ) {
    super(`Run stopped at ${stage} step ${step}; it can be resumed from its last checkpoint`);
    this.name = 'PipelineStopped';
  }
}

interface State {
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

/** Optimizer state as checkpoint files. getWeights() makes a fresh iteration-count scalar: free it. */
async function optimizerToFiles(optimizer: tf.Optimizer, key: string): Promise<Record<string, Uint8Array>> {
  const weights = await optimizer.getWeights();
  const files = await tensorsToFiles(weights, key);
  weights.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
  return files;
}

function vars(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function memoryNow(): Progress['memory'] {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  const gpuBytes = m.numBytesAllocatedInGPU ?? m.numBytesInGPU;
  return { tensors: m.numTensors, bytes: m.numBytes, ...(gpuBytes !== undefined && { gpuBytes }) };
}

/** One optimizer step on a weighted loss; returns each term's value and the total (read back asynchronously). */
async function optimise(optimizer: tf.Optimizer, varList: tf.Variable[], loss: (terms: Record<string, tf.Scalar>) => tf.Scalar): Promise<Record<string, number>> {
  const terms: Record<string, tf.Scalar> = {};
  const total = optimizer.minimize(() => loss(terms), true, varList)!;
  const names = Object.keys(terms);
  const read = tf.stack([total, ...names.map((k) => terms[k])]);
  const data = await read.data();
  const values: Record<string, number> = { total: data[0] };
  names.forEach((k, i) => (values[k] = data[i + 1]));
  tf.dispose([read, total, ...Object.values(terms)]);
  if (!Number.isFinite(values.total)) {
    throw new Error(`The loss became ${values.total}: lower the learning rate or the loss weights`);
  }
  return values;
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
  // The spec's budget, parsed once (rounds() reads it at every step).
  const specBudget: Budget | null = spec.budget ? parseBudget(spec.budget) : null;
  const rng = new Rng(state.rng);
  const models = new Map<string, tf.LayersModel>();
  const disposables: { dispose(): void }[] = [];

  const model = async (role: string) => {
    let m = models.get(role);
    if (!m) {
      m = await modelFromFiles(files, state.models[role]);
      models.set(role, m);
    }
    return m;
  };
  const putModel = async (role: string, m: tf.LayersModel, key: string) => {
    const old = models.get(role);
    if (old && old !== m) old.dispose();
    Object.assign(files, await modelToFiles(m, key));
    state.models[role] = key;
    models.set(role, m);
  };
  const checkpoint = async (extra: Record<string, Uint8Array> = {}) => {
    state.rng = rng.state;
    // Only files the current state refers to are kept: models by role plus this step's extras.
    const keep: Record<string, Uint8Array> = {};
    for (const key of Object.values(state.models)) {
      for (const suffix of ['.model.json', '.weights.bin']) keep[key + suffix] = files[key + suffix];
    }
    await store.save({ state: structuredClone(state), files: { ...keep, ...extra } });
    for (const k of Object.keys(files)) if (!(k in keep)) delete files[k];
    Object.assign(files, extra);
  };

  if (!saved) {
    if ((spec.steps.train > 0 || spec.task === 'train') && !opts.train.paired) {
      throw new Error('Base training needs paired data (inputs and targets)');
    }
    await putModel('original', await cloneModel(opts.model), 'original');
    await checkpoint();
  }

  const t0 = performance.now();
  // Wall time per stage, carried across resumes.
  let stageStart = 0;
  const tick = () => {
    state.seconds[state.stage] = (performance.now() - stageStart) / 1000;
  };
  try {
    while (state.stage !== 'done') {
      stageStart = performance.now() - (state.seconds[state.stage] ?? 0) * 1000;
      if (state.stage === 'train' || state.stage === 'condense' || state.stage === 'distill') {
        await trainStage(state.stage);
      } else if (state.stage === 'prune') {
        await pruneStage();
      } else if (state.stage === 'report') {
        state.report = await reportStage();
      }
      tick();
      const next = nextStage(spec, state.stage);
      if (next === 'report' && round() + 1 < rounds()) {
        state.distillStepsBefore = (state.distillStepsBefore ?? 0) + (nextStage(spec, 'prune') === 'distill' ? stageSteps('distill') : 0);
        state.removedBefore = (state.removedBefore ?? 0) + state.removed.length;
        state.distillSteps = undefined;
        state.round = round() + 1;
        state.stage = 'prune';
      } else {
        state.stage = next;
      }
      state.step = 0;
      await checkpoint();
    }
    const student = await cloneModel(await model(spec.task === 'train' ? 'original' : 'student'));
    return { student, report: state.report };
  } finally {
    for (const m of models.values()) m.dispose();
    for (const d of disposables) d.dispose();
  }

  /** The training stages share one loop: batches, one or two optimizers, checkpoints, progress. */
  async function trainStage(stage: TrainingStage): Promise<void> {
    const stageKey = (s: number) => `${stage}${round() ? `-round${round()}` : ''}-${s}`;
    // The model this stage trains, and whatever else it needs.
    if (state.step === 0) {
      const source = stage === 'distill' ? 'pruned' : 'original';
      await putModel('work', await cloneModel(await model(source)), `${stage}-start`);
    }
    const work = await model('work');
    const original = await model('original');
    // Without condensation there is no condensed model, and condensation by decay makes the
    // student itself: the original is the only teacher then.
    const teacherRole = spec.teacher === 'original' || spec.steps.condense === 0 || state.condenseTargets ? 'original' : 'condensed';
    const teacher = stage === 'distill' ? await model(teacherRole) : null;
    const range = rangeWidth(spec.inputRange);
    // In units of half the value range, so 0-255 models weigh their terms as -1..1 ones do.
    const pixelDistance = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      (spec.pixelLoss === 'mse' ? tf.div(tf.mean(tf.squaredDifference(a, b)), (range / 2) ** 2) : tf.div(l1(a, b), range / 2)) as tf.Scalar;

    const optimizer = tf.train.adam(spec.lr[stage], spec.beta1, 0.999);
    disposables.push(optimizer);
    // Not in condensation: an average of weights would bring back the groups the prox step zeroed.
    const ema = spec.ema > 0 && stage !== 'condense' ? new WeightEma(vars(work), spec.ema) : null;
    if (ema) disposables.push(ema);
    // The adversarial term serves realism (base training, distillation), not condensation.
    const wantsAdversarial = spec.loss.adversarial > 0 && opts.train.paired && stage !== 'condense';
    const disc = wantsAdversarial
      ? state.step > 0
        ? await model(`disc`)
        : buildPatchDiscriminator(work.inputs[0].shape[3]!, work.outputs[0].shape[3]!, spec.size, 16, spec.seed + 100)
      : null;
    if (disc && !models.has('disc')) await putModel('disc', disc, `${stage}-disc-start`);
    const discOptimizer = disc ? tf.train.adam(spec.lr[stage], 0.5, 0.999) : null;
    if (discOptimizer) disposables.push(discOptimizer);

    const layers = teacher && spec.loss.feature > 0 ? featureLayers(teacher, work) : [];
    const adapters = teacher ? createAdapters(teacher, work, layers, spec.seed + 200) : [];
    disposables.push(...adapters);
    const studentNet = layers.length ? withFeatures(work, layers) : work;
    const teacherNet = teacher && layers.length ? withFeatures(teacher, layers) : teacher;
    const timed = stage === 'distill' && spec.time !== null;
    const pool =
      teacherNet && spec.teacherCache > 0
        ? await TeacherPool.build(teacherNet, opts.train, {
            count: timed ? spec.teacherCache : Math.min(spec.teacherCache, stageSteps(stage) * spec.batchSize),
            size: spec.size,
            flip: spec.flip,
            seed: spec.seed + 300,
          })
        : null;
    if (pool) disposables.push(pool);
    if (timed && state.distillSteps === undefined) {
      // The steps that fit the time left, at the speed of the pruned model's step here.
      // The measured step compares with the teacher's output as the real one does: taken from the
      // pool, or (without one) computed by running the teacher, which each step then does too.
      const stepLoss = (a: tf.Tensor4D, b: tf.Tensor4D) => (spec.loss.ssim > 0 ? tf.add(pixelDistance(a, b), tf.mul(ssimLoss(a, b, range), spec.loss.ssim)) : pixelDistance(a, b)) as tf.Scalar;
      const reference = (x: tf.Tensor4D) =>
        (pool ? tf.gather(pool.reference[0], Array.from({ length: x.shape[0] }, (_, i) => i % pool.size)) : teacher!.predict(x)) as tf.Tensor4D;
      const measure = (opts.measureThroughput ?? ((m) => timedTrainingThroughput(m, opts.train, spec.size, { loss: stepLoss, reference })))(work);
      const stepsPerSecond = (await measure(spec.batchSize)) / spec.batchSize;
      // This stage's own seconds so far (earlier rounds' distillation included) are in stageStart.
      const earlier = Object.entries(state.seconds).reduce((a, [s, v]) => a + (s === stage ? 0 : (v ?? 0)), 0);
      const spent = earlier + (performance.now() - stageStart) / 1000;
      // Gradual pruning shares what is left equally among this and the rounds after it.
      const share = (spec.time! - spent) / (rounds() - round());
      state.distillSteps = stepsForTime(Math.max(share, 1 / stepsPerSecond), stepsPerSecond);
    }
    const steps = stageSteps(stage);
    let budget = specBudget;
    // Decay needs a budget to choose its groups; without one, condensation is what decides (prox).
    const decaying = stage === 'condense' && spec.condensation === 'decay' && budget !== null && budget.kind !== 'threshold';
    const sparsity = stage === 'condense' && !decaying ? new GroupSparsity(readChannelGraph(work), [spec.size, spec.size]) : null;
    if (decaying && !state.condenseTargets) {
      // With an FPS budget, decay exactly the groups of the measured candidate that meets it, so
      // the student runs at the FPS the search measured.
      const graph = readChannelGraph(original);
      const targets = budget!.kind === 'fps' ? await searchFps(graph, budget!) : await selectForBudget(graph, budget as Exclude<Budget, { kind: 'fps' }>, [spec.size, spec.size]);
      state.condenseTargets = [...targets];
    }
    if (budget?.kind === 'fps' && stage === 'condense' && !decaying) {
      // The penalty needs a MACs share to aim for: the one that meets the FPS on the original.
      state.fpsKeep ??= (await selectForFps(readChannelGraph(await model('original')), budget.fps, fpsSize(budget), { measure: opts.measureLatency })).keep;
      budget = { kind: 'macs', keep: state.fpsKeep };
    }
    if (sparsity && state.step === 0) state.norm0 = await sparsity.meanNorm();
    const decayGraph = decaying ? readChannelGraph(work) : null;
    const decayTargets = new Set(state.condenseTargets);

    if (state.step > 0) {
      // Restored values are copied into variables; the decoded tensors are freed after.
      const restore = async (key: string, apply: (ts: NamedTensor[]) => Promise<void> | void) => {
        const ts = tensorsFromFiles(files, `${stageKey(state.step)}-${key}`);
        await apply(ts);
        tf.dispose(ts.map((t) => t.tensor));
      };
      await restore('opt', (ts) => optimizer.setWeights(ts));
      if (ema) await restore('ema', (ts) => ts.forEach((t, i) => ema.averages[i].assign(t.tensor)));
      if (adapters.length) await restore('adapters', (ts) => ts.forEach((t, i) => adapters[i].assign(t.tensor)));
      if (discOptimizer) await restore('dopt', (ts) => discOptimizer.setWeights(ts));
    }

    const save = async () => {
      tick();
      const extra: Record<string, Uint8Array> = {};
      await putModel('work', work, `${stageKey(state.step)}-work`);
      if (disc) await putModel('disc', disc, `${stageKey(state.step)}-disc`);
      Object.assign(extra, await optimizerToFiles(optimizer, `${stageKey(state.step)}-opt`));
      if (ema) Object.assign(extra, await tensorsToFiles(ema.averages.map((a) => ({ name: a.name, tensor: a })), `${stageKey(state.step)}-ema`));
      if (adapters.length) Object.assign(extra, await tensorsToFiles(adapters.map((a) => ({ name: a.name, tensor: a })), `${stageKey(state.step)}-adapters`));
      if (discOptimizer) Object.assign(extra, await optimizerToFiles(discOptimizer, `${stageKey(state.step)}-dopt`));
      await checkpoint(extra);
    };

    const started = performance.now();
    const firstStep = state.step;
    let deadGroups: number | undefined;
    let decayingScale: number | undefined;
    while (state.step < steps) {
      const lr = spec.lr[stage] * lrFactor(state.step, steps, spec.schedule);
      for (const o of [optimizer, discOptimizer]) if (o) setLearningRate(o, lr);
      const cached = pool?.batch(rng, spec.batchSize);
      const { x, y } = cached ?? opts.train.batch(rng, spec.batchSize, spec.flip, spec.size);
      const reference = cached?.reference ?? tf.tidy(() => {
        if (stage === 'train') return y!;
        // Condensation stays faithful to the original model (fine-tuning on targets drifted it ~26 dB
        // away from the model the user wants compressed); targets enter distillation instead.
        if (stage === 'condense') return original.predict(x) as tf.Tensor4D;
        return teacherNet!.predict(x) as tf.Tensor | tf.Tensor[];
      });
      const refOut = (Array.isArray(reference) ? reference[0] : reference) as tf.Tensor4D;
      const refFeatures = Array.isArray(reference) ? reference.slice(1) : [];
      const batch = [x, y, reference] as tf.TensorContainer;
      const losses = await optimise(optimizer, vars(work).concat(adapters), (terms) => {
        const out = studentNet.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
        const yHat = (Array.isArray(out) ? out[0] : out) as tf.Tensor4D;
        const features = Array.isArray(out) ? out.slice(1) : [];
        return weighted(
          {
            output: [spec.loss.output, () => pixelDistance(yHat, refOut)],
            ssim: [spec.loss.ssim, () => ssimLoss(yHat, refOut, range)],
            feature: [layers.length ? spec.loss.feature : 0, () => featureLoss(features, refFeatures, adapters)],
            groundTruth: [stage === 'distill' && y ? spec.loss.groundTruth : 0, () => pixelDistance(yHat, y!)],
            adversarial: [disc ? spec.loss.adversarial : 0, () => lsganGenerator(disc!.apply(tf.concat([x, yHat], 3)) as tf.Tensor)],
          },
          terms,
        );
      }).catch((e) => {
        tf.dispose(batch);
        throw e;
      });
      if (disc && discOptimizer && y) {
        const fake = tf.tidy(() => work.predict(x) as tf.Tensor4D);
        Object.assign(
          losses,
          Object.fromEntries(
            Object.entries(
              await optimise(discOptimizer, vars(disc), () =>
                lsganDiscriminator(disc.apply(tf.concat([x, y], 3)) as tf.Tensor, disc.apply(tf.concat([x, fake], 3)) as tf.Tensor),
              ),
            ).map(([k, v]) => [`disc_${k}`, v]),
          ),
        );
        fake.dispose();
      }
      tf.dispose(batch);
      ema?.update(state.step);

      if (decayGraph) {
        // Remaining scale of the decaying groups: 1 -> 0 linearly over 60% of the steps, then 0.
        const span = Math.max(1, Math.ceil(0.6 * steps));
        const [now, before] = [state.step + 1, state.step].map((t) => Math.max(0, 1 - t / span));
        const factor = before > 0 ? now / before : 0;
        scaleGroups(decayGraph, Float64Array.from(decayGraph.groups, (g) => (decayTargets.has(g.id) ? factor : 1)), true, true);
        decayingScale = now;
      }
      if (sparsity) {
        const schedule = Math.min(1, (state.step + 1) / Math.max(1, steps / 2));
        const tau = (spec.sparsity * state.norm0 * state.boost * schedule) / (0.75 * steps);
        deadGroups = await sparsity.prox(tau);
        // With a MACs/params budget, strengthen the penalty while the dead groups alone miss it.
        if (spec.condenseToBudget && budget && (budget.kind === 'macs' || budget.kind === 'params') && schedule === 1 && (state.step + 1) % 10 === 0) {
          if (!(await sparsity.meetsBudget(budget))) state.boost *= 1.1;
        }
      }
      state.step++;
      const wantSamples = spec.sampleEvery > 0 && (state.step % spec.sampleEvery === 0 || state.step === steps);
      const done = state.step - firstStep;
      const perStep = (performance.now() - started) / 1000 / done;
      opts.onProgress?.({
        stage,
        step: state.step,
        steps,
        losses,
        deadGroups,
        decayingScale,
        alive: sparsity && (state.step % 10 === 0 || state.step === steps) ? await sparsity.aliveByLayer() : undefined,
        etaSeconds: perStep * (steps - state.step + remainingSteps(stage)),
        ...(rounds() > 1 && { round: { at: round() + 1, of: rounds() } }),
        lr,
        stepsPerSecond: 1 / perStep,
        elapsedSeconds: (performance.now() - t0) / 1000,
        memory: memoryNow(),
        samples: wantSamples ? await samples(work, stage === 'distill' ? teacher : stage === 'condense' && !opts.test.paired ? original : null) : undefined,
      });
      if (state.step % spec.checkpointEvery === 0 && state.step < steps) await save();
      if (opts.shouldStop?.()) {
        await save();
        throw new PipelineStopped(stage, state.step);
      }
    }
    const finalRole = stage === 'train' ? 'original' : stage === 'condense' ? 'condensed' : 'student';
    ema?.applyTo();
    // Distillation must not leave the student further from its teacher than it started (a rate too
    // high for a model without normalisation can wreck a well refitted student): judged on
    // training crops, the pruned student is kept when it is closer.
    const kept = stage === 'distill' && (await closerToTeacher(await model('pruned'), work, teacher!)) ? await model('pruned') : work;
    if (kept !== work) state.distillReverted = true;
    await putModel(finalRole, await cloneModel(kept), `${stage}-final`);
    delete state.models.work;
    delete state.models.disc;
    models.delete('work');
    models.delete('disc');
    work.dispose();
    disc?.dispose();
  }

  /** Whether `a` is closer than `b` to the teacher's output (mean absolute error) on the calibration crops. */
  async function closerToTeacher(a: tf.LayersModel, b: tf.LayersModel, teacher: tf.LayersModel): Promise<boolean> {
    const images = calibrationImages(REFIT_IMAGES);
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

  async function samples(current: tf.LayersModel, teacherModel: tf.LayersModel | null): Promise<Samples> {
    const x = tf.slice(opts.test.inputs, 0, 1) as tf.Tensor4D;
    const reference = teacherModel ? (teacherModel.predict(x) as tf.Tensor4D) : opts.test.targets ? (tf.slice(opts.test.targets, 0, 1) as tf.Tensor4D) : null;
    const output = current.predict(x) as tf.Tensor4D;
    const [, height, width] = x.shape;
    const rgba = (t: tf.Tensor4D) => toRgba(t, spec.inputRange);
    const result = { width, height, input: await rgba(x), reference: reference ? await rgba(reference) : null, output: await rgba(output) };
    tf.dispose([x, reference, output] as tf.TensorContainer);
    return result;
  }

  function fpsSize(budget: Extract<Budget, { kind: 'fps' }>): [number, number] {
    const size = budget.size ?? spec.size;
    return [size, size];
  }

  function stageSteps(stage: TrainingStage): number {
    if (stage !== 'distill') return spec.steps[stage];
    // Without a time budget, gradual pruning shares the steps equally among its rounds.
    const upTo = (r: number) => Math.floor((spec.steps.distill * r) / rounds());
    return state.distillSteps ?? upTo(round() + 1) - upTo(round());
  }

  function round(): number {
    return state.round ?? 0;
  }

  /** Prune -> distill rounds of this run: gradual pruning applies to MACs and params budgets only. */
  function rounds(): number {
    return specBudget && (specBudget.kind === 'macs' || specBudget.kind === 'params') && !state.condenseTargets ? Math.max(1, spec.pruneRounds) : 1;
  }

  function remainingSteps(stage: TrainingStage): number {
    let total = 0;
    for (let s = nextStage(spec, stage); s !== 'done'; s = nextStage(spec, s)) {
      if (s === 'train' || s === 'condense' || s === 'distill') total += stageSteps(s);
    }
    // Later rounds of gradual pruning distil about as long as this one.
    return total + (rounds() - round() - 1) * stageSteps('distill');
  }

  /** A fixed set of training crops (own seed, so a resumed run uses the same) for scoring and refitting. */
  function calibrationImages(count: number): tf.Tensor4D {
    const { x, y } = opts.train.batch(new Rng(spec.seed + 400), count, false, spec.size);
    y?.dispose();
    return x;
  }

  async function pruneStage(): Promise<void> {
    // Later rounds of gradual pruning cut the previous round's student further.
    const source = await model(round() > 0 ? 'student' : spec.steps.condense > 0 ? 'condensed' : 'original');
    const graph = readChannelGraph(source);
    const budget = await roundBudget(specBudget ?? { kind: 'threshold' as const, value: Number.MIN_VALUE }, graph);
    let removed: Set<number>;
    if (state.condenseTargets) {
      // Condensation by decay already drove exactly these to zero.
      removed = new Set(state.condenseTargets);
    } else if (budget.kind === 'fps') {
      removed = await searchFps(graph, budget);
    } else {
      removed = await selectForBudget(graph, budget, [spec.size, spec.size]);
    }
    state.removed = [...removed];
    const pruned = await pruneModel(graph, removed);
    // After condensation by decay the removed groups are already zero: nothing to compensate.
    // The report keeps the first round's figures (a one-shot run's are of its only round).
    if (spec.compensate && removed.size && !state.condenseTargets) {
      const compensation = await compensate(graph, removed, pruned);
      if (round() === 0) state.compensation = compensation;
    }
    await putModel('pruned', pruned, 'pruned');
    if (spec.steps.distill === 0) await putModel('student', await cloneModel(pruned), 'student-final');
  }

  /**
   * This round's budget relative to the model it prunes: round r of R keeps keep^((r+1)/R) of the
   * original's MACs (or params).
   */
  async function roundBudget(budget: Budget, graph: ReturnType<typeof readChannelGraph>): Promise<Budget> {
    if (rounds() === 1 || (budget.kind !== 'macs' && budget.kind !== 'params')) return budget;
    const size: [number, number] = [spec.size, spec.size];
    const cost = (g: ReturnType<typeof readChannelGraph>) => modelCost(g, size)[budget.kind];
    const share = budget.keep ** ((round() + 1) / rounds());
    return { ...budget, keep: Math.min(1, (share * cost(readChannelGraph(await model('original')))) / cost(graph)) };
  }

  /** The groups whose removal meets an FPS budget, measured on candidates cut from `graph` by the spec's selection. */
  async function searchFps(graph: ReturnType<typeof readChannelGraph>, budget: Extract<Budget, { kind: 'fps' }>): Promise<Set<number>> {
    const size = fpsSize(budget);
    const order = spec.selection === 'importance' ? await withScoringImages((images) => importanceOrder(graph, size, images, { multiple: spec.channelMultiple })) : null;
    const found = await selectForFps(graph, budget.fps, size, { measure: opts.measureLatency, ...(order && { select: order }) });
    state.fpsSearch = found.tries;
    return found.removed;
  }

  /** The groups a threshold, MACs or params budget removes, by the spec's selection. */
  async function selectForBudget(graph: ReturnType<typeof readChannelGraph>, budget: Exclude<Budget, { kind: 'fps' }>, size: [number, number]): Promise<Set<number>> {
    if (spec.selection === 'magnitude' || budget.kind === 'threshold') return (await selectGroups(graph, budget, size)).removed;
    return (await withScoringImages((images) => selectByImportance(graph, budget, size, images, { multiple: spec.channelMultiple }))).removed;
  }

  /** Runs `f` on the crops that score channels, freed after. */
  async function withScoringImages<T>(f: (images: tf.Tensor4D) => Promise<T>): Promise<T> {
    const images = calibrationImages(SCORING_IMAGES);
    try {
      return await f(images);
    } finally {
      images.dispose();
    }
  }

  async function compensate(graph: ReturnType<typeof readChannelGraph>, removed: Set<number>, pruned: tf.LayersModel): Promise<Compensation> {
    const started = performance.now();
    const range = rangeWidth(spec.inputRange);
    const reference = predictAll(graph.model, opts.test.inputs);
    const vsReference = async () => {
      const out = predictAll(pruned, opts.test.inputs);
      const q = await quality(out, reference, range);
      out.dispose();
      return q;
    };
    const images = calibrationImages(REFIT_IMAGES);
    try {
      const sliced = await vsReference();
      const fit = await refitConvolutions(graph, removed, pruned, images);
      const mean = (k: 'before' | 'after') => fit.refitted.reduce((a, l) => a + l[k], 0) / Math.max(1, fit.refitted.length);
      return {
        layers: fit.refitted.length,
        errorBefore: mean('before'),
        errorAfter: mean('after'),
        sliced,
        refitted: await vsReference(),
        skipped: fit.skipped,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      tf.dispose([reference, images]);
    }
  }

  async function reportStage(): Promise<RunReport> {
    const original = await model('original');
    const student = await model('student');
    const size: [number, number] = [spec.size, spec.size];
    const before = modelCost(readChannelGraph(original), size);
    const after = modelCost(readChannelGraph(student), size);
    const inputs = opts.test.inputs;
    const [fromOriginal, fromStudent] = [predictAll(original, inputs), predictAll(student, inputs)];
    const report: RunReport = {
      spec,
      versions: { alap: alapVersion, tfjs: tf.version.tfjs },
      backend: opts.backend,
      device: opts.device,
      size,
      stages: inRunOrder(Object.keys(state.seconds)),
      macs: { before: before.macs, after: after.macs, ratio: before.macs / after.macs },
      params: { before: before.params, after: after.params, ratio: before.params / after.params },
      removedGroups: (state.removedBefore ?? 0) + state.removed.length,
      selection: spec.selection,
      ...(state.compensation && { compensation: state.compensation }),
      distillSteps: (state.distillStepsBefore ?? 0) + (nextStage(spec, 'prune') === 'distill' ? stageSteps('distill') : 0),
      ...(rounds() > 1 && { pruneRounds: rounds() }),
      ...(state.distillReverted && { distillReverted: true }),
      studentVsOriginal: await quality(fromStudent, fromOriginal, rangeWidth(spec.inputRange)),
      latency: { before: undefined!, after: undefined!, speedup: 0 },
      seconds: state.seconds,
    };
    if (opts.test.targets) {
      report.vsTargets = {
        original: await quality(fromOriginal, opts.test.targets, rangeWidth(spec.inputRange)),
        student: await quality(fromStudent, opts.test.targets, rangeWidth(spec.inputRange)),
      };
    }
    tf.dispose([fromOriginal, fromStudent]);
    const shape = [1, spec.size, spec.size, inputs.shape[3]];
    const measureLatency = opts.measureLatency ?? foldedMeasurer(timedMeasurer({ runs: spec.latencyRuns }));
    const latBefore = await measureLatency(original, shape);
    const latAfter = await measureLatency(student, shape);
    report.latency = { before: latBefore, after: latAfter, speedup: latBefore.medianMs / latAfter.medianMs };
    const budget = specBudget;
    if (budget?.kind === 'fps') {
      const [h, w] = fpsSize(budget);
      const at = [1, h, w, inputs.shape[3]];
      const same = h === spec.size && w === spec.size;
      const before = same ? latBefore : await measureLatency(original, at);
      const after = same ? latAfter : await measureLatency(student, at);
      report.fps = { target: budget.fps, size: h, before, after, met: after.fps >= budget.fps, search: state.fpsSearch ?? [] };
    }
    return report;
  }
}

