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
}

export interface ImportanceSelection extends Selection {
  /** The removed groups in the order they went. */
  order: number[];
}

/**
 * Groups to remove for a MACs or params budget: in each round, the groups with the least output
 * sensitivity per MAC (or parameter) saved, until that round's share of the budget is met (the
 * shares fall geometrically to the budget). Never leaves a layer under MIN_LAYER_SHARE.
 */
export async function selectByImportance(
  graph: ChannelGraph,
  budget: Extract<Budget, { keep: number }>,
  size: [number, number],
  inputs: tf.Tensor4D,
  o: ImportanceOptions = {},
): Promise<ImportanceSelection> {
  const rounds = Math.max(1, o.rounds ?? 4);
  const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
  const current = () => (budget.kind === 'params' ? tracker.params : tracker.macs);
  const full = current();
  const order: number[] = [];
  let kept = 0;
  for (let round = 1; round <= rounds; round++) {
    const target = full * budget.keep ** (round / rounds);
    const removed = new Set(order);
    const sensitivity = await scoreWithout(graph, removed, inputs, { ...o, seed: (o.seed ?? 1) + round });
    const perCost = new Map<number, number>();
    for (const g of graph.groups) {
      if (!g.prunable || removed.has(g.id)) continue;
      const saving = tracker.saving(g.id)[budget.kind];
      perCost.set(g.id, saving > 0 ? sensitivity[g.id] / saving : Infinity);
    }
    kept = 0;
    for (const [g] of [...perCost].sort((a, b) => a[1] - b[1])) {
      if (current() <= target) break;
      if (!tracker.canRemove(g)) {
        kept++;
        continue;
      }
      tracker.remove(g);
      order.push(g);
    }
  }
  if (current() > full * budget.keep) throw unreachableBudget(budget, current() / full);
  return { removed: new Set(order), keptToAvoidEmptyLayer: kept, order };
}

/**
 * For budgets searched by measurement (FPS): one importance ranking down to the smallest share the
 * per-layer floor allows, and a selector that takes its first groups until a MACs share is met.
 */
export async function importanceOrder(graph: ChannelGraph, size: [number, number], inputs: tf.Tensor4D, o: ImportanceOptions = {}): Promise<(keep: number) => Promise<Set<number>>> {
  const floor = smallestMacsShare(graph, size);
  const { order } = await selectByImportance(graph, { kind: 'macs', keep: Math.min(1, floor * 1.0001) }, size, inputs, o);
  return async (keep) => {
    const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
    const target = tracker.macs * keep;
    const removed = new Set<number>();
    for (const g of order) {
      if (tracker.macs <= target) break;
      tracker.remove(g);
      removed.add(g);
    }
    return removed;
  };
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
