/**
 * Data-driven channel selection. A group's importance is how much the model's output moves when
 * the group is switched off, to first order: for a gate m multiplying the group's effective
 * parameters (see prune.ts: its producers' filters and biases, or the gamma and beta of the norms
 * that follow them), d output / d m = sum over those parameters of theta * d output / d theta
 * (the group Taylor criterion of Molchanov et al. 2019, taken on the output instead of a loss,
 * since a model's loss against its own output has zero gradient). The squared norm of that
 * output change is estimated with random projections r ~ N(0, I): E[(r . J v)^2] = |J v|^2, one
 * backward pass per probe. Groups are removed by importance per MAC (or parameter) saved, in
 * rounds, re-scoring the partly pruned model after each, so a group whose neighbours went keeps
 * its real weight.
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph, type ChannelGraph } from '../graph/channel-graph';
import { cloneModel } from '../io/model-files';
import { CostTracker, effective, eachChannelWeight, MIN_LAYER_SHARE, smallestMacsShare, unreachableBudget, zeroGroups, type Selection } from './prune';
import type { Budget } from './budget';

export interface SensitivityOptions {
  /** Random output projections (backward passes) to average. */
  probes?: number;
  seed?: number;
}

/** Estimated squared output change (summed over the images) from switching each group off. */
export async function outputSensitivity(graph: ChannelGraph, inputs: tf.Tensor4D, o: SensitivityOptions = {}): Promise<Float64Array> {
  const probes = o.probes ?? 4;
  const seed = o.seed ?? 1;
  const model = graph.model;
  const score = new Float64Array(graph.groups.length);
  const weights: { l: ChannelGraph['layers'][number]; w: tf.LayerVariable; axis: number }[] = [];
  eachChannelWeight(graph, (l, w, axis) => {
    if (w.trainable && l.channels.some((g) => effective(graph, l, g))) weights.push({ l, w, axis });
  });
  const variables = weights.map(({ w }) => w.read() as tf.Variable);
  for (let p = 0; p < probes; p++) {
    const { value, grads } = tf.variableGrads(() => {
      const out = model.apply(inputs, { training: false }) as tf.Tensor;
      return tf.sum(tf.mul(out, tf.randomNormal(out.shape, 0, 1, 'float32', seed * 1000 + p)));
    }, variables);
    const perChannel = tf.tidy(() =>
      tf.concat(
        weights.map(({ w, axis }, i) => {
          const others = [...Array(w.shape.length).keys()].filter((a) => a !== axis);
          return tf.sum(tf.mul(variables[i], grads[variables[i].name]), others);
        }),
      ),
    );
    const values = await perChannel.data();
    tf.dispose([value, perChannel, ...Object.values(grads)]);
    const gate = new Float64Array(graph.groups.length);
    let offset = 0;
    for (const { l } of weights) {
      l.channels.forEach((g, c) => {
        if (effective(graph, l, g)) gate[g] += values[offset + c];
      });
      offset += l.channels.length;
    }
    gate.forEach((d, g) => (score[g] += (d * d) / probes));
  }
  return score;
}

export interface ImportanceOptions extends SensitivityOptions {
  /** Rounds of removal, each followed by re-scoring the partly pruned model. */
  rounds?: number;
  /**
   * Keep every prunable layer's output channels at a multiple of this (or at its full width). On
   * tfjs-wasm a convolution costs the same for 1 to 8 output channels (XNNPACK computes them in
   * tiles of 8), so removing channels inside a tile saves MACs but no time. 1: any count.
   */
  multiple?: number;
}

export interface ImportanceSelection extends Selection {
  /** The removal steps in the order they were taken: single groups, or whole tiles with `multiple`. */
  order: number[][];
}

/**
 * Groups that set the same convolutions' output channels (tied across residual adds): removing
 * some of a family narrows those layers together. Families holding a pinned group stay whole.
 */
function prunableFamilies(graph: ChannelGraph): number[][] {
  const key = new Map<number, string>();
  graph.layers.forEach((l, i) => {
    if (l.role !== 'source') return;
    for (const g of new Set(l.channels)) key.set(g, `${key.get(g) ?? ''},${i}`);
  });
  const families = new Map<string, number[]>();
  for (const [g, k] of key) families.set(k, [...(families.get(k) ?? []), g]);
  return [...families.values()].filter((f) => f.every((g) => graph.groups[g].prunable));
}

/**
 * The next removal steps a round may take: one group at a time, or with `multiple` m, per family
 * the least sensitive groups down to the next multiple of m below its alive count (never under m).
 */
function candidateSteps(graph: ChannelGraph, families: number[][], removed: ReadonlySet<number>, sensitivity: Float64Array, multiple: number): number[][] {
  if (multiple <= 1) return graph.groups.filter((g) => g.prunable && !removed.has(g.id)).map((g) => [g.id]);
  const steps: number[][] = [];
  for (const family of families) {
    const alive = family.filter((g) => !removed.has(g)).sort((a, b) => sensitivity[a] - sensitivity[b]);
    const take = alive.length % multiple || multiple;
    if (alive.length - take >= multiple) steps.push(alive.slice(0, take));
  }
  return steps;
}

/**
 * Groups to remove for a MACs or params budget: in each round, the steps (groups, or tiles of
 * groups) with the least output sensitivity per MAC (or parameter) saved, until that round's share
 * of the budget is met (the shares fall geometrically to the budget). Never leaves a layer under
 * MIN_LAYER_SHARE.
 */
export async function selectByImportance(
  graph: ChannelGraph,
  budget: Extract<Budget, { keep: number }>,
  size: [number, number],
  inputs: tf.Tensor4D,
  o: ImportanceOptions = {},
): Promise<ImportanceSelection> {
  const rounds = Math.max(1, o.rounds ?? 4);
  const multiple = Math.max(1, o.multiple ?? 1);
  const families = prunableFamilies(graph);
  const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
  const current = () => (budget.kind === 'params' ? tracker.params : tracker.macs);
  const full = current();
  const order: number[][] = [];
  const removed = new Set<number>();
  let kept = 0;
  for (let round = 1; round <= rounds; round++) {
    const target = full * budget.keep ** (round / rounds);
    const sensitivity = await scoreWithout(graph, removed, inputs, { ...o, seed: (o.seed ?? 1) + round });
    const perCost = (step: number[]) => {
      const saving = tracker.saving(step)[budget.kind];
      return saving > 0 ? step.reduce((s, g) => s + sensitivity[g], 0) / saving : Infinity;
    };
    kept = 0;
    // Single groups are ranked once per round; tiles again after each step (a family's next tile
    // depends on what it has left).
    let steps = candidateSteps(graph, families, removed, sensitivity, multiple)
      .map((step) => ({ step, cost: perCost(step) }))
      .sort((a, b) => a.cost - b.cost);
    while (current() > target && steps.length) {
      const { step } = steps.shift()!;
      if (!tracker.canRemove(step)) {
        kept++;
        continue;
      }
      for (const g of step) {
        tracker.remove(g);
        removed.add(g);
      }
      order.push(step);
      if (multiple > 1) {
        steps = candidateSteps(graph, families, removed, sensitivity, multiple)
          .map((s) => ({ step: s, cost: perCost(s) }))
          .sort((a, b) => a.cost - b.cost);
      }
    }
  }
  if (current() > full * budget.keep) throw unreachableBudget(budget, current() / full, multiple);
  return { removed, keptToAvoidEmptyLayer: kept, order };
}

/**
 * For budgets searched by measurement (FPS): one importance ranking down to the smallest share the
 * per-layer floor allows, and a selector that takes its first steps until a MACs share is met.
 */
export async function importanceOrder(graph: ChannelGraph, size: [number, number], inputs: tf.Tensor4D, o: ImportanceOptions = {}): Promise<(keep: number) => Promise<Set<number>>> {
  const floor = smallestShare(graph, size, Math.max(1, o.multiple ?? 1));
  const { order } = await selectByImportance(graph, { kind: 'macs', keep: Math.min(1, floor * 1.0001) }, size, inputs, o);
  return async (keep) => {
    const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
    const target = tracker.macs * keep;
    const removed = new Set<number>();
    for (const step of order) {
      if (tracker.macs <= target) break;
      for (const g of step) {
        tracker.remove(g);
        removed.add(g);
      }
    }
    return removed;
  };
}

/** The smallest MACs share removal steps can reach: every step taken that the per-layer floor allows. */
function smallestShare(graph: ChannelGraph, size: [number, number], multiple: number): number {
  if (multiple <= 1) return smallestMacsShare(graph, size);
  const families = prunableFamilies(graph);
  const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
  const full = tracker.macs;
  const removed = new Set<number>();
  const none = new Float64Array(graph.groups.length);
  for (let progress = true; progress; ) {
    progress = false;
    for (const step of candidateSteps(graph, families, removed, none, multiple)) {
      if (!tracker.canRemove(step)) continue;
      for (const g of step) {
        tracker.remove(g);
        removed.add(g);
      }
      progress = true;
    }
  }
  return tracker.macs / full;
}

/** Sensitivity of the model with the given groups switched off (on a copy; the model is untouched). */
async function scoreWithout(graph: ChannelGraph, removed: ReadonlySet<number>, inputs: tf.Tensor4D, o: SensitivityOptions): Promise<Float64Array> {
  if (!removed.size) return outputSensitivity(graph, inputs, o);
  const copy = await cloneModel(graph.model);
  try {
    const masked = readChannelGraph(copy);
    if (masked.groups.length !== graph.groups.length) throw new Error('A copy of the model has different channel groups');
    zeroGroups(masked, removed);
    return await outputSensitivity(masked, inputs, o);
  } finally {
    copy.dispose();
  }
}
