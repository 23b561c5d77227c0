/**
 * Structural pruning: choose channel groups to remove (by norm threshold or a MACs / params
 * budget) and build the narrower model by rewriting the model's JSON config and slicing weights.
 * The result is a plain tf.LayersModel that saves and loads in the standard tfjs format.
 */
import * as tf from '@tensorflow/tfjs';
import type { ChannelGraph, GraphLayer } from '../graph/channel-graph';
import { weightAxes } from '../graph/weight-axes';
import { aliveCount, layerCost, layerShapes } from '../measure/cost';

import type { Budget } from './budget';

/** Calls `f` for every weight with an output-channel axis (producers and followers). */
export function eachChannelWeight(graph: ChannelGraph, f: (l: GraphLayer, w: tf.LayerVariable, axis: number) => void): void {
  for (const l of graph.layers) {
    if (l.role !== 'source' && l.role !== 'follow') continue;
    for (const w of l.layer.weights) {
      const axis = weightAxes(l, w.shape.length).out;
      if (axis !== null) f(l, w, axis);
    }
  }
}

const NORM_CLASSES = new Set(['InstanceNormalization', 'BatchNormalization', 'LayerNormalization']);
const normalisedCache = new WeakMap<ChannelGraph, Set<number>>();

/**
 * Groups whose every producer feeds a normalisation layer with its own scale/offset. A channel's
 * output there does not depend on the scale of its filter (the norm divides it out): shrinking the
 * filter changes nothing until it underflows the norm's epsilon and silences the channel behind
 * the task loss's back. What sets such a channel's size is the norm's gamma and beta, so those
 * are what condensation shrinks and what pruning ranks (as in network slimming).
 */
export function normalisedGroups(graph: ChannelGraph): Set<number> {
  let found = normalisedCache.get(graph);
  if (found) return found;
  const normalisedSources = new Set(
    graph.layers.filter((l) => l.role === 'follow' && NORM_CLASSES.has(l.className) && l.layer.weights.some((w) => w.trainable)).map((l) => l.inputs[0]),
  );
  const sources = new Map<number, string[]>();
  for (const l of graph.layers) if (l.role === 'source') for (const g of new Set(l.channels)) sources.set(g, [...(sources.get(g) ?? []), l.name]);
  found = new Set([...sources].filter(([, names]) => names.every((n) => normalisedSources.has(n))).map(([g]) => g));
  normalisedCache.set(graph, found);
  return found;
}

/** Whether a layer's slice for group g counts as (and is shrunk as) the group's parameters. */
export function effective(graph: ChannelGraph, l: GraphLayer, g: number): boolean {
  return l.role !== 'source' || !normalisedGroups(graph).has(g);
}

/**
 * L2 norm of each group's effective trainable parameters (its producers' filters and biases,
 * or for normalised groups the norms' gamma and beta, see normalisedGroups), and their number.
 */
export async function groupNorms(graph: ChannelGraph): Promise<{ norm: Float64Array; count: Float64Array }> {
  const sumSq = new Float64Array(graph.groups.length);
  const count = new Float64Array(graph.groups.length);
  const parts: { l: GraphLayer; each: number }[] = [];
  const sums: tf.Tensor[] = [];
  eachChannelWeight(graph, (l, w, axis) => {
    if (!w.trainable) return;
    const others = [...Array(w.shape.length).keys()].filter((a) => a !== axis);
    sums.push(tf.tidy(() => tf.sum(tf.square(w.read()), others)));
    parts.push({ l, each: w.shape.reduce<number>((p, d, i) => (i === axis ? p : p * (d as number)), 1) });
  });
  const perChannel = sums.length ? tf.concat(sums) : null;
  tf.dispose(sums);
  const perChannelValues = perChannel ? await perChannel.data() : new Float32Array(0);
  perChannel?.dispose();
  let offset = 0;
  for (const { l, each } of parts) {
    l.channels.forEach((g, c) => {
      if (!effective(graph, l, g)) return;
      sumSq[g] += perChannelValues[offset + c];
      count[g] += each;
    });
    offset += l.channels.length;
  }
  return { norm: sumSq.map(Math.sqrt), count };
}

/**
 * Multiplies each group's effective parameters (see groupNorms) by its factor, or with `all` every
 * parameter of the group. With `includeStats`, BatchNorm's moving mean is scaled too (moving
 * variance never: it must stay positive).
 */
export function scaleGroups(graph: ChannelGraph, factor: ArrayLike<number>, includeStats: boolean, all = false): void {
  eachChannelWeight(graph, (l, w, axis) => {
    if (!w.trainable && (!includeStats || w.name.endsWith('moving_variance'))) return;
    const scale = l.channels.map((g) => (all || effective(graph, l, g) ? factor[g] : 1));
    if (scale.every((k) => k === 1)) return;
    tf.tidy(() => {
      const shape = w.shape.map((_, i) => (i === axis ? scale.length : 1));
      w.write(tf.mul(w.read(), tf.tensor(scale, shape)));
    });
  });
}

/** Sets every parameter of the given groups to zero, so the channels they carry are zero. */
export function zeroGroups(graph: ChannelGraph, groups: ReadonlySet<number>): void {
  scaleGroups(graph, Float64Array.from(graph.groups, (g) => (groups.has(g.id) ? 0 : 1)), true, true);
}

/** Per-layer alive-channel bookkeeping so a budget search can update costs in O(layers). */
export class CostTracker {
  private readonly cin: number[];
  private readonly cout: number[];
  private readonly shapes;
  /** For each group: the layers whose input/output it appears in, with multiplicity. */
  private readonly touches: { layer: number; side: 'in' | 'out'; n: number }[][];
  macs = 0;
  params = 0;

  private readonly minOut: number[];

  constructor(
    private readonly graph: ChannelGraph,
    size: [number, number],
    removed: ReadonlySet<number>,
    minShare: number,
  ) {
    this.shapes = layerShapes(graph, size);
    this.cin = graph.layers.map((l) => aliveCount(l.inChannels, removed));
    this.cout = graph.layers.map((l) => aliveCount(l.channels, removed));
    this.minOut = graph.layers.map((l) => Math.max(1, Math.ceil(minShare * l.channels.length)));
    this.touches = graph.groups.map(() => []);
    graph.layers.forEach((l, i) => {
      for (const [side, chans] of [['in', l.inChannels], ['out', l.channels]] as const) {
        const counts = new Map<number, number>();
        for (const g of chans) if (!removed.has(g)) counts.set(g, (counts.get(g) ?? 0) + 1);
        for (const [g, n] of counts) this.touches[g].push({ layer: i, side, n });
      }
    });
    this.total();
  }

  private cost(i: number) {
    const l = this.graph.layers[i];
    return layerCost(l, this.shapes.get(l.name)!, this.cin[i], this.cout[i]);
  }

  private total() {
    this.macs = 0;
    this.params = 0;
    this.graph.layers.forEach((_, i) => {
      const c = this.cost(i);
      this.macs += c.macs;
      this.params += c.params;
    });
  }

  /** Whether removing the groups leaves every layer at or above its floor (at least one channel). */
  canRemove(groups: number | readonly number[]): boolean {
    const cout = new Map<number, number>();
    for (const g of [groups].flat()) for (const t of this.touches[g]) if (t.side === 'out') cout.set(t.layer, (cout.get(t.layer) ?? this.cout[t.layer]) - t.n);
    return [...cout].every(([layer, left]) => left >= this.minOut[layer]);
  }

  /** MACs saved by removing group g now (nothing is changed). */
  macsSaving(g: number): number {
    return this.saving(g).macs;
  }

  /** MACs and parameters saved by removing the groups now (nothing is changed). */
  saving(groups: number | readonly number[]): { macs: number; params: number } {
    const saving = { macs: 0, params: 0 };
    const layers = new Map<number, { cin: number; cout: number }>();
    for (const g of [groups].flat()) {
      for (const t of this.touches[g]) {
        const c = layers.get(t.layer) ?? { cin: this.cin[t.layer], cout: this.cout[t.layer] };
        if (t.side === 'in') c.cin -= t.n;
        else c.cout -= t.n;
        layers.set(t.layer, c);
      }
    }
    for (const [i, c] of layers) {
      const l = this.graph.layers[i];
      const [now, after] = [this.cost(i), layerCost(l, this.shapes.get(l.name)!, c.cin, c.cout)];
      saving.macs += now.macs - after.macs;
      saving.params += now.params - after.params;
    }
    return saving;
  }

  remove(g: number): void {
    const layers = new Set(this.touches[g].map((t) => t.layer));
    for (const i of layers) {
      const c = this.cost(i);
      this.macs -= c.macs;
      this.params -= c.params;
    }
    for (const t of this.touches[g]) (t.side === 'in' ? this.cin : this.cout)[t.layer] -= t.n;
    for (const i of layers) {
      const c = this.cost(i);
      this.macs += c.macs;
      this.params += c.params;
    }
  }
}

/** MACs each group costs in the full model (what removing it alone would save). */
export function groupMacs(graph: ChannelGraph, size: [number, number]): Float64Array {
  const tracker = new CostTracker(graph, size, new Set(), 0);
  return Float64Array.from(graph.groups, (g) => tracker.macsSaving(g.id));
}

export interface Selection {
  removed: Set<number>;
  /** Groups that met the criterion but were kept so that no layer falls below its floor. */
  keptToAvoidEmptyLayer: number;
}

/** Smallest share of a layer's channels a budget may leave (a threshold may go down to one). */
export const MIN_LAYER_SHARE = 0.05;

/**
 * Budget ranking: a group's RMS parameter value relative to the mean RMS of the groups its first
 * producer makes, so layers initialised or trained at different scales compete fairly. Dead
 * groups (all zero after condensation) score 0 and go first.
 */
function budgetScores(graph: ChannelGraph, norm: Float64Array, count: Float64Array): Float64Array {
  const rms = graph.groups.map((g) => (count[g.id] > 0 ? norm[g.id] / Math.sqrt(count[g.id]) : 0));
  const perLayer = new Map<string, { sum: number; n: number }>();
  for (const g of graph.groups) {
    const key = g.layers[0] ?? '';
    const acc = perLayer.get(key) ?? { sum: 0, n: 0 };
    acc.sum += rms[g.id];
    acc.n++;
    perLayer.set(key, acc);
  }
  return Float64Array.from(graph.groups, (g) => {
    const acc = perLayer.get(g.layers[0] ?? '')!;
    const mean = acc.sum / acc.n;
    return mean > 0 ? rms[g.id] / mean : 0;
  });
}

/**
 * Groups to remove for a budget. Threshold: every prunable group whose norm is below it. MACs or
 * params: the lowest-scoring groups first (see budgetScores) until the budget is met, never
 * leaving a layer with fewer than MIN_LAYER_SHARE of its channels.
 */
export async function selectGroups(graph: ChannelGraph, budget: Budget, size: [number, number]): Promise<Selection> {
  if (budget.kind === 'fps') throw new Error('An FPS budget is met by measuring candidate models: use selectForFps');
  const { norm, count } = await groupNorms(graph);
  const score = budget.kind === 'threshold' ? norm : budgetScores(graph, norm, count);
  const order = graph.groups
    .filter((g) => g.prunable)
    .map((g) => g.id)
    .sort((a, b) => score[a] - score[b]);
  const floor = budget.kind === 'threshold' ? 0 : MIN_LAYER_SHARE;
  const tracker = new CostTracker(graph, size, new Set(), floor);
  const target =
    budget.kind === 'macs' ? tracker.macs * budget.keep : budget.kind === 'params' ? tracker.params * budget.keep : 0;
  const current = () => (budget.kind === 'params' ? tracker.params : tracker.macs);
  const removed = new Set<number>();
  let kept = 0;
  for (const g of order) {
    if (budget.kind === 'threshold' ? norm[g] >= budget.value : current() <= target) break;
    if (!tracker.canRemove(g)) {
      kept++;
      continue;
    }
    tracker.remove(g);
    removed.add(g);
  }
  if (budget.kind !== 'threshold' && current() > target) throw unreachableBudget(budget, current() / (target / budget.keep));
  return { removed, keptToAvoidEmptyLayer: kept };
}

export function unreachableBudget(budget: Extract<Budget, { keep: number }>, share: number, channelMultiple = 1): Error {
  const what = budget.kind === 'macs' ? 'MACs' : 'parameters';
  const floor = channelMultiple > 1 ? `layers kept at multiples of ${channelMultiple} channels (channelMultiple)` : `the ${MIN_LAYER_SHARE * 100}% per-layer floor`;
  return new Error(`A ${what} budget of ${budget.keep} cannot be met: the model's pinned channels and ${floor} leave ${share.toFixed(3)} of its ${what}`);
}

/** The smallest MACs share a MACs budget can reach: every group gone that the per-layer floor allows. */
export function smallestMacsShare(graph: ChannelGraph, size: [number, number]): number {
  const tracker = new CostTracker(graph, size, new Set(), MIN_LAYER_SHARE);
  const full = tracker.macs;
  for (const g of graph.groups) if (g.prunable && tracker.canRemove(g.id)) tracker.remove(g.id);
  return tracker.macs / full;
}

function aliveIndices(channels: number[], removed: ReadonlySet<number>): number[] {
  const idx: number[] = [];
  channels.forEach((g, i) => removed.has(g) || idx.push(i));
  return idx;
}

type LayerJSON = { class_name: string; config: Record<string, unknown> };

/** Builds the narrower model with the given groups removed. The original is left untouched. */
export async function pruneModel(graph: ChannelGraph, removed: ReadonlySet<number>): Promise<tf.LayersModel> {
  const pinned = [...removed].filter((g) => !graph.groups[g]?.prunable);
  if (pinned.length) throw new Error(`Channel group ${pinned[0]} cannot be removed: ${graph.groups[pinned[0]]?.pinnedBy ?? 'unknown group'}`);

  const topology = graph.model.toJSON(null, false) as unknown as { config: { layers: LayerJSON[] } };
  for (const entry of topology.config.layers) {
    const l = graph.byName.get(entry.config.name as string);
    if (l?.role === 'source') entry.config.filters = aliveCount(l.channels, removed);
  }
  const pruned = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });

  for (const l of graph.layers) {
    if (l.layer.weights.length === 0) continue;
    const outIdx = aliveIndices(l.channels, removed);
    const inIdx = aliveIndices(l.inChannels, removed);
    // Each slice is copied into a fresh tensor: the wasm backend keeps the shape of the buffer a
    // gather wrote (not the tensor's), and its FusedConv2D then rejects such a bias as rank 4.
    const sliced = await Promise.all(
      l.layer.getWeights().map(async (w) => {
        const axes = weightAxes(l, w.rank);
        const t = tf.tidy(() => {
          let r = w;
          if (axes.out !== null && outIdx.length !== l.channels.length) r = tf.gather(r, outIdx, axes.out);
          if (axes.in !== null && inIdx.length !== l.inChannels.length) r = tf.gather(r, inIdx, axes.in);
          return r === w ? tf.clone(w) : r;
        });
        const fresh = tf.tensor(await t.data(), t.shape, w.dtype);
        t.dispose();
        return fresh;
      }),
    );
    pruned.getLayer(l.name).setWeights(sliced);
    tf.dispose(sliced);
  }
  return pruned;
}
