/**
 * The training stages (train, condense, distill) of a run: one loop of batches with one or two
 * optimizers, checkpoints and progress reports; condensation by decay or prox, distillation from
 * a cached teacher with an optional time budget.
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../graph/channel-graph';
import { buildPatchDiscriminator } from '../models/discriminator';
import { cloneModel } from '../io/model-files';
import { tensorsFromFiles, tensorsToFiles, type NamedTensor } from '../io/checkpoint';
import { rangeWidth } from '../data/dataset';
import { l1, lsganDiscriminator, lsganGenerator, ssimLoss, weighted } from '../train/losses';
import { lrFactor, setLearningRate, WeightEma } from '../train/schedule';
import { stepsForTime } from '../train/run-size';
import { timedTrainingThroughput } from '../train/throughput';
import { GroupSparsity } from './condense';
import { createAdapters, featureLayers, featureLoss, TeacherPool, withFeatures } from './distill';
import { selectForFps } from './fps-budget';
import type { Budget } from './budget';
import { scaleGroups } from './prune';
import { searchFps, selectForBudget } from './prune-stage';
import { PipelineStopped, type RunContext } from './run-context';
import type { Progress } from './pipeline';
import type { TrainingStage } from './spec';

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

/** The training stages share one loop: batches, one or two optimizers, checkpoints, progress. */
export async function trainStage(ctx: RunContext, stage: TrainingStage): Promise<void> {
  const stageKey = (s: number) => `${stage}${ctx.round() ? `-round${ctx.round()}` : ''}-${s}`;
  // The model this stage trains, and whatever else it needs.
  if (ctx.state.step === 0) {
    const source = stage === 'distill' ? 'pruned' : 'original';
    await ctx.putModel('work', await cloneModel(await ctx.model(source)), `${stage}-start`);
  }
  const work = await ctx.model('work');
  const original = await ctx.model('original');
  // Without condensation there is no condensed model, and condensation by decay makes the
  // student itself: the original is the only teacher then.
  const teacherRole = ctx.spec.teacher === 'original' || ctx.spec.steps.condense === 0 || ctx.state.condenseTargets ? 'original' : 'condensed';
  const teacher = stage === 'distill' ? await ctx.model(teacherRole) : null;
  const range = rangeWidth(ctx.spec.inputRange);
  // In units of half the value range, so 0-255 ctx.models weigh their terms as -1..1 ones do.
  const pixelDistance = (a: tf.Tensor4D, b: tf.Tensor4D) =>
    (ctx.spec.pixelLoss === 'mse' ? tf.div(tf.mean(tf.squaredDifference(a, b)), (range / 2) ** 2) : tf.div(l1(a, b), range / 2)) as tf.Scalar;

  const optimizer = tf.train.adam(ctx.spec.lr[stage], ctx.spec.beta1, 0.999);
  ctx.disposables.push(optimizer);
  // Not in condensation: an average of weights would bring back the groups the prox step zeroed.
  const ema = ctx.spec.ema > 0 && stage !== 'condense' ? new WeightEma(vars(work), ctx.spec.ema) : null;
  if (ema) ctx.disposables.push(ema);
  // The adversarial term serves realism (base training, distillation), not condensation.
  const wantsAdversarial = ctx.spec.loss.adversarial > 0 && ctx.opts.train.paired && stage !== 'condense';
  const disc = wantsAdversarial
    ? ctx.state.step > 0
      ? await ctx.model(`disc`)
      : buildPatchDiscriminator(work.inputs[0].shape[3]!, work.outputs[0].shape[3]!, ctx.spec.size, 16, ctx.spec.seed + 100)
    : null;
  if (disc && !ctx.models.has('disc')) await ctx.putModel('disc', disc, `${stage}-disc-start`);
  const discOptimizer = disc ? tf.train.adam(ctx.spec.lr[stage], 0.5, 0.999) : null;
  if (discOptimizer) ctx.disposables.push(discOptimizer);

  const layers = teacher && ctx.spec.loss.feature > 0 ? featureLayers(teacher, work) : [];
  const adapters = teacher ? createAdapters(teacher, work, layers, ctx.spec.seed + 200) : [];
  ctx.disposables.push(...adapters);
  const studentNet = layers.length ? withFeatures(work, layers) : work;
  const teacherNet = teacher && layers.length ? withFeatures(teacher, layers) : teacher;
  const timed = stage === 'distill' && ctx.spec.time !== null;
  const pool =
    teacherNet && ctx.spec.teacherCache > 0
      ? await TeacherPool.build(teacherNet, ctx.opts.train, {
          count: timed ? ctx.spec.teacherCache : Math.min(ctx.spec.teacherCache, ctx.stageSteps(stage) * ctx.spec.batchSize),
          size: ctx.spec.size,
          flip: ctx.spec.flip,
          seed: ctx.spec.seed + 300,
        })
      : null;
  if (pool) ctx.disposables.push(pool);
  if (timed && ctx.state.distillSteps === undefined) {
    // The steps that fit the time left, at the speed of the pruned model's step here.
    // The measured step compares with the teacher's output as the real one does: taken from the
    // pool, or (without one) computed by running the teacher, which each step then does too.
    const stepLoss = (a: tf.Tensor4D, b: tf.Tensor4D) => (ctx.spec.loss.ssim > 0 ? tf.add(pixelDistance(a, b), tf.mul(ssimLoss(a, b, range), ctx.spec.loss.ssim)) : pixelDistance(a, b)) as tf.Scalar;
    const reference = (x: tf.Tensor4D) =>
      (pool ? tf.gather(pool.reference[0], Array.from({ length: x.shape[0] }, (_, i) => i % pool.size)) : teacher!.predict(x)) as tf.Tensor4D;
    const measure = (ctx.opts.measureThroughput ?? ((m) => timedTrainingThroughput(m, ctx.opts.train, ctx.spec.size, { loss: stepLoss, reference })))(work);
    const stepsPerSecond = (await measure(ctx.spec.batchSize)) / ctx.spec.batchSize;
    // This stage's own seconds so far (earlier rounds' distillation included) are in ctx.stageStart.
    const earlier = Object.entries(ctx.state.seconds).reduce((a, [s, v]) => a + (s === stage ? 0 : (v ?? 0)), 0);
    const spent = earlier + (performance.now() - ctx.stageStart) / 1000;
    // Gradual pruning shares what is left equally among this and the rounds after it.
    const share = (ctx.spec.time! - spent) / (ctx.rounds() - ctx.round());
    ctx.state.distillSteps = stepsForTime(Math.max(share, 1 / stepsPerSecond), stepsPerSecond);
  }
  const steps = ctx.stageSteps(stage);
  let budget = ctx.specBudget;
  // Decay needs a budget to choose its groups; without one, condensation is what decides (prox).
  const decaying = stage === 'condense' && ctx.spec.condensation === 'decay' && budget !== null && budget.kind !== 'threshold';
  const sparsity = stage === 'condense' && !decaying ? new GroupSparsity(readChannelGraph(work), [ctx.spec.size, ctx.spec.size]) : null;
  if (decaying && !ctx.state.condenseTargets) {
    // With an FPS budget, decay exactly the groups of the measured candidate that meets it, so
    // the student runs at the FPS the search measured.
    const graph = readChannelGraph(original);
    const targets = budget!.kind === 'fps' ? await searchFps(ctx, graph, budget!) : await selectForBudget(ctx, graph, budget as Exclude<Budget, { kind: 'fps' }>, [ctx.spec.size, ctx.spec.size]);
    ctx.state.condenseTargets = [...targets];
  }
  if (budget?.kind === 'fps' && stage === 'condense' && !decaying) {
    // The penalty needs a MACs share to aim for: the one that meets the FPS on the original.
    ctx.state.fpsKeep ??= (await selectForFps(readChannelGraph(await ctx.model('original')), budget.fps, ctx.fpsSize(budget), { measure: ctx.opts.measureLatency })).keep;
    budget = { kind: 'macs', keep: ctx.state.fpsKeep };
  }
  if (sparsity && ctx.state.step === 0) ctx.state.norm0 = await sparsity.meanNorm();
  const decayGraph = decaying ? readChannelGraph(work) : null;
  const decayTargets = new Set(ctx.state.condenseTargets);

  if (ctx.state.step > 0) {
    // Restored values are copied into variables; the decoded tensors are freed after.
    const restore = async (key: string, apply: (ts: NamedTensor[]) => Promise<void> | void) => {
      const ts = tensorsFromFiles(ctx.files, `${stageKey(ctx.state.step)}-${key}`);
      await apply(ts);
      tf.dispose(ts.map((t) => t.tensor));
    };
    await restore('opt', (ts) => optimizer.setWeights(ts));
    if (ema) await restore('ema', (ts) => ts.forEach((t, i) => ema.averages[i].assign(t.tensor)));
    if (adapters.length) await restore('adapters', (ts) => ts.forEach((t, i) => adapters[i].assign(t.tensor)));
    if (discOptimizer) await restore('dopt', (ts) => discOptimizer.setWeights(ts));
  }

  const save = async () => {
    ctx.tick();
    const extra: Record<string, Uint8Array> = {};
    await ctx.putModel('work', work, `${stageKey(ctx.state.step)}-work`);
    if (disc) await ctx.putModel('disc', disc, `${stageKey(ctx.state.step)}-disc`);
    Object.assign(extra, await optimizerToFiles(optimizer, `${stageKey(ctx.state.step)}-opt`));
    if (ema) Object.assign(extra, await tensorsToFiles(ema.averages.map((a) => ({ name: a.name, tensor: a })), `${stageKey(ctx.state.step)}-ema`));
    if (adapters.length) Object.assign(extra, await tensorsToFiles(adapters.map((a) => ({ name: a.name, tensor: a })), `${stageKey(ctx.state.step)}-adapters`));
    if (discOptimizer) Object.assign(extra, await optimizerToFiles(discOptimizer, `${stageKey(ctx.state.step)}-dopt`));
    await ctx.checkpoint(extra);
  };

  const started = performance.now();
  const firstStep = ctx.state.step;
  let deadGroups: number | undefined;
  let decayingScale: number | undefined;
  while (ctx.state.step < steps) {
    const lr = ctx.spec.lr[stage] * lrFactor(ctx.state.step, steps, ctx.spec.schedule);
    for (const o of [optimizer, discOptimizer]) if (o) setLearningRate(o, lr);
    const cached = pool?.batch(ctx.rng, ctx.spec.batchSize);
    const { x, y } = cached ?? ctx.opts.train.batch(ctx.rng, ctx.spec.batchSize, ctx.spec.flip, ctx.spec.size);
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
          output: [ctx.spec.loss.output, () => pixelDistance(yHat, refOut)],
          ssim: [ctx.spec.loss.ssim, () => ssimLoss(yHat, refOut, range)],
          feature: [layers.length ? ctx.spec.loss.feature : 0, () => featureLoss(features, refFeatures, adapters)],
          groundTruth: [stage === 'distill' && y ? ctx.spec.loss.groundTruth : 0, () => pixelDistance(yHat, y!)],
          adversarial: [disc ? ctx.spec.loss.adversarial : 0, () => lsganGenerator(disc!.apply(tf.concat([x, yHat], 3)) as tf.Tensor)],
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
    ema?.update(ctx.state.step);

    if (decayGraph) {
      // Remaining scale of the decaying groups: 1 -> 0 linearly over 60% of the steps, then 0.
      const span = Math.max(1, Math.ceil(0.6 * steps));
      const [now, before] = [ctx.state.step + 1, ctx.state.step].map((t) => Math.max(0, 1 - t / span));
      const factor = before > 0 ? now / before : 0;
      scaleGroups(decayGraph, Float64Array.from(decayGraph.groups, (g) => (decayTargets.has(g.id) ? factor : 1)), true, true);
      decayingScale = now;
    }
    if (sparsity) {
      const schedule = Math.min(1, (ctx.state.step + 1) / Math.max(1, steps / 2));
      const tau = (ctx.spec.sparsity * ctx.state.norm0 * ctx.state.boost * schedule) / (0.75 * steps);
      deadGroups = await sparsity.prox(tau);
      // With a MACs/params budget, strengthen the penalty while the dead groups alone miss it.
      if (ctx.spec.condenseToBudget && budget && (budget.kind === 'macs' || budget.kind === 'params') && schedule === 1 && (ctx.state.step + 1) % 10 === 0) {
        if (!(await sparsity.meetsBudget(budget))) ctx.state.boost *= 1.1;
      }
    }
    ctx.state.step++;
    const wantSamples = ctx.spec.sampleEvery > 0 && (ctx.state.step % ctx.spec.sampleEvery === 0 || ctx.state.step === steps);
    const done = ctx.state.step - firstStep;
    const perStep = (performance.now() - started) / 1000 / done;
    ctx.opts.onProgress?.({
      stage,
      step: ctx.state.step,
      steps,
      losses,
      deadGroups,
      decayingScale,
      alive: sparsity && (ctx.state.step % 10 === 0 || ctx.state.step === steps) ? await sparsity.aliveByLayer() : undefined,
      etaSeconds: perStep * (steps - ctx.state.step + ctx.remainingSteps(stage)),
      ...(ctx.rounds() > 1 && { round: { at: ctx.round() + 1, of: ctx.rounds() } }),
      lr,
      stepsPerSecond: 1 / perStep,
      elapsedSeconds: (performance.now() - ctx.t0) / 1000,
      memory: memoryNow(),
      samples: wantSamples ? await ctx.samples(work, stage === 'distill' ? teacher : stage === 'condense' && !ctx.opts.test.paired ? original : null) : undefined,
    });
    if (ctx.state.step % ctx.spec.checkpointEvery === 0 && ctx.state.step < steps) await save();
    if (ctx.opts.shouldStop?.()) {
      await save();
      throw new PipelineStopped(stage, ctx.state.step);
    }
  }
  const finalRole = stage === 'train' ? 'original' : stage === 'condense' ? 'condensed' : 'student';
  ema?.applyTo();
  // Distillation must not leave the student further from its teacher than it started (a rate too
  // high for a model without normalisation can wreck a well refitted student): judged on
  // training crops, the pruned student is kept when it is closer.
  const kept = stage === 'distill' && (await ctx.closerToTeacher(await ctx.model('pruned'), work, teacher!)) ? await ctx.model('pruned') : work;
  if (kept !== work) ctx.state.distillReverted = true;
  await ctx.putModel(finalRole, await cloneModel(kept), `${stage}-final`);
  delete ctx.state.models.work;
  delete ctx.state.models.disc;
  ctx.models.delete('work');
  ctx.models.delete('disc');
  work.dispose();
  disc?.dispose();
}
