/** The report stage of a run: MACs, params, quality and latency of the student against the original. */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../graph/channel-graph';
import { modelCost } from '../measure/cost';
import { foldedMeasurer, timedMeasurer } from '../measure/latency';
import { predictAll, quality } from '../measure/quality';
import { rangeWidth } from '../data/dataset';
import { inRunOrder, nextStage } from './stages';
import type { RunContext } from './run-context';
import type { RunReport } from './pipeline';
import { version as alapVersion } from '../../../package.json';

export async function reportStage(ctx: RunContext): Promise<RunReport> {
  const original = await ctx.model('original');
  const student = await ctx.model('student');
  const size: [number, number] = [ctx.spec.size, ctx.spec.size];
  const before = modelCost(readChannelGraph(original), size);
  const after = modelCost(readChannelGraph(student), size);
  const inputs = ctx.opts.test.inputs;
  const [fromOriginal, fromStudent] = [predictAll(original, inputs), predictAll(student, inputs)];
  const report: RunReport = {
    spec: ctx.spec,
    versions: { alap: alapVersion, tfjs: tf.version.tfjs },
    backend: ctx.opts.backend,
    device: ctx.opts.device,
    size,
    stages: inRunOrder(Object.keys(ctx.state.seconds)),
    macs: { before: before.macs, after: after.macs, ratio: before.macs / after.macs },
    params: { before: before.params, after: after.params, ratio: before.params / after.params },
    removedGroups: (ctx.state.removedBefore ?? 0) + ctx.state.removed.length,
    selection: ctx.spec.selection,
    ...(ctx.state.compensation && { compensation: ctx.state.compensation }),
    distillSteps: (ctx.state.distillStepsBefore ?? 0) + (nextStage(ctx.spec, 'prune') === 'distill' ? ctx.stageSteps('distill') : 0),
    ...(ctx.rounds() > 1 && { pruneRounds: ctx.rounds() }),
    ...(ctx.state.distillReverted && { distillReverted: true }),
    studentVsOriginal: await quality(fromStudent, fromOriginal, rangeWidth(ctx.spec.inputRange)),
    latency: { before: undefined!, after: undefined!, speedup: 0 },
    seconds: ctx.state.seconds,
  };
  if (ctx.opts.test.targets) {
    report.vsTargets = {
      original: await quality(fromOriginal, ctx.opts.test.targets, rangeWidth(ctx.spec.inputRange)),
      student: await quality(fromStudent, ctx.opts.test.targets, rangeWidth(ctx.spec.inputRange)),
    };
  }
  tf.dispose([fromOriginal, fromStudent]);
  const shape = [1, ctx.spec.size, ctx.spec.size, inputs.shape[3]];
  const measureLatency = ctx.opts.measureLatency ?? foldedMeasurer(timedMeasurer({ runs: ctx.spec.latencyRuns }));
  const latBefore = await measureLatency(original, shape);
  const latAfter = await measureLatency(student, shape);
  report.latency = { before: latBefore, after: latAfter, speedup: latBefore.medianMs / latAfter.medianMs };
  const budget = ctx.specBudget;
  if (budget?.kind === 'fps') {
    const [h, w] = ctx.fpsSize(budget);
    const at = [1, h, w, inputs.shape[3]];
    const same = h === ctx.spec.size && w === ctx.spec.size;
    const before = same ? latBefore : await measureLatency(original, at);
    const after = same ? latAfter : await measureLatency(student, at);
    report.fps = { target: budget.fps, size: h, before, after, met: after.fps >= budget.fps, search: ctx.state.fpsSearch ?? [] };
  }
  return report;
}