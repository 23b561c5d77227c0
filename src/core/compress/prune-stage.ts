/**
 * The prune stage of a run: choose the channel groups to remove (by the budget: MACs, params,
 * threshold or a measured FPS search; by importance or magnitude), slice them out, and refit the
 * convolutions so the pruned model reproduces the one it was cut from (compensation).
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../graph/channel-graph';
import { modelCost } from '../measure/cost';
import { predictAll, quality } from '../measure/quality';
import { cloneModel } from '../io/model-files';
import { rangeWidth } from '../data/dataset';
import type { Budget } from './budget';
import { selectForFps } from './fps-budget';
import { importanceOrder, selectByImportance } from './importance';
import { pruneModel, selectGroups } from './prune';
import { refitConvolutions } from './refit';
import { REFIT_IMAGES, type RunContext } from './run-context';
import type { Compensation } from './pipeline';

export async function pruneStage(ctx: RunContext): Promise<void> {
  // Later rounds of gradual pruning cut the previous round's student further.
  const source = await ctx.model(ctx.round() > 0 ? 'student' : ctx.spec.steps.condense > 0 ? 'condensed' : 'original');
  const graph = readChannelGraph(source);
  const budget = await roundBudget(ctx, ctx.specBudget ?? { kind: 'threshold' as const, value: Number.MIN_VALUE }, graph);
  let removed: Set<number>;
  if (ctx.state.condenseTargets) {
    // Condensation by decay already drove exactly these to zero.
    removed = new Set(ctx.state.condenseTargets);
  } else if (budget.kind === 'fps') {
    removed = await searchFps(ctx, graph, budget);
  } else {
    removed = await selectForBudget(ctx, graph, budget, [ctx.spec.size, ctx.spec.size]);
  }
  ctx.state.removed = [...removed];
  const pruned = await pruneModel(graph, removed);
  // After condensation by decay the removed groups are already zero: nothing to compensate.
  // The report keeps the first round's figures (a one-shot run's are of its only round).
  if (ctx.spec.compensate && removed.size && !ctx.state.condenseTargets) {
    const compensation = await compensate(ctx, graph, removed, pruned);
    if (ctx.round() === 0) ctx.state.compensation = compensation;
  }
  await ctx.putModel('pruned', pruned, 'pruned');
  if (ctx.spec.steps.distill === 0) await ctx.putModel('student', await cloneModel(pruned), 'student-final');
}

/**
 * This round's budget relative to the model it prunes: round r of R keeps keep^((r+1)/R) of the
 * original's MACs (or params).
 */
async function roundBudget(ctx: RunContext, budget: Budget, graph: ReturnType<typeof readChannelGraph>): Promise<Budget> {
  if (ctx.rounds() === 1 || (budget.kind !== 'macs' && budget.kind !== 'params')) return budget;
  const size: [number, number] = [ctx.spec.size, ctx.spec.size];
  const cost = (g: ReturnType<typeof readChannelGraph>) => modelCost(g, size)[budget.kind];
  const share = budget.keep ** ((ctx.round() + 1) / ctx.rounds());
  return { ...budget, keep: Math.min(1, (share * cost(readChannelGraph(await ctx.model('original')))) / cost(graph)) };
}

/** The groups whose removal meets an FPS budget, measured on candidates cut from `graph` by the ctx.spec's selection. */
export async function searchFps(ctx: RunContext, graph: ReturnType<typeof readChannelGraph>, budget: Extract<Budget, { kind: 'fps' }>): Promise<Set<number>> {
  const size = ctx.fpsSize(budget);
  const order = ctx.spec.selection === 'importance' ? await ctx.withScoringImages((images) => importanceOrder(graph, size, images, { multiple: ctx.spec.channelMultiple })) : null;
  const found = await selectForFps(graph, budget.fps, size, { measure: ctx.opts.measureLatency, ...(order && { select: order }) });
  ctx.state.fpsSearch = found.tries;
  return found.removed;
}

/** The groups a threshold, MACs or params budget removes, by the ctx.spec's selection. */
export async function selectForBudget(ctx: RunContext, graph: ReturnType<typeof readChannelGraph>, budget: Exclude<Budget, { kind: 'fps' }>, size: [number, number]): Promise<Set<number>> {
  if (ctx.spec.selection === 'magnitude' || budget.kind === 'threshold') return (await selectGroups(graph, budget, size)).removed;
  return (await ctx.withScoringImages((images) => selectByImportance(graph, budget, size, images, { multiple: ctx.spec.channelMultiple }))).removed;
}


async function compensate(ctx: RunContext, graph: ReturnType<typeof readChannelGraph>, removed: Set<number>, pruned: tf.LayersModel): Promise<Compensation> {
  const started = performance.now();
  const range = rangeWidth(ctx.spec.inputRange);
  const reference = predictAll(graph.model, ctx.opts.test.inputs);
  const vsReference = async () => {
    const out = predictAll(pruned, ctx.opts.test.inputs);
    const q = await quality(out, reference, range);
    out.dispose();
    return q;
  };
  const images = ctx.calibrationImages(REFIT_IMAGES);
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
