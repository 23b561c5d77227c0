import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { modelCost } from '../../src/core/measure/cost';
import { importanceOrder, outputSensitivity, selectByImportance } from '../../src/core/compress/importance';
import { MIN_LAYER_SHARE, pruneModel, zeroGroups } from '../../src/core/compress/prune';
import { choleskySolve, refitConvolutions } from '../../src/core/compress/refit';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { randomiseWeights } from '../helpers/models';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const CONSUMERS = {
  'Conv2D 3x3 same': () => tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'b' }),
  'Conv2D 4x4 stride 2 same': () => tf.layers.conv2d({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', name: 'b' }),
  'Conv2D 3x3 dilation 2 valid': () => tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid', name: 'b' }),
  'Conv2DTranspose 3x3 stride 2 same': () => tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'b' }),
};

/** conv a (3 -> 8) -> ReLU -> consumer (8 -> 4, linear): a's groups are its 8 channels. */
function twoConvs(consumer: keyof typeof CONSUMERS): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const a = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as tf.SymbolicTensor;
  const act = tf.layers.reLU({ name: 'a_relu' }).apply(a) as tf.SymbolicTensor;
  const layer = CONSUMERS[consumer]();
  const model = tf.model({ inputs: input, outputs: layer.apply(act) as tf.SymbolicTensor });
  randomiseWeights(model);
  return model;
}

/** Makes channels 5, 6, 7 of conv a exact copies of 0, 1, 2 (filters and biases). */
function duplicateChannels(model: tf.LayersModel): void {
  const layer = model.getLayer('a');
  const [kernel, bias] = layer.getWeights();
  const from = [0, 1, 2, 3, 4, 0, 1, 2];
  layer.setWeights([tf.gather(kernel, from, 3), tf.gather(bias, from)]);
}

function groupsOf(graph: ReturnType<typeof readChannelGraph>, layer: string, channels: number[]): Set<number> {
  return new Set(channels.map((c) => graph.byName.get(layer)!.channels[c]));
}

describe('least-squares refit after slicing', () => {
  it('solves a symmetric positive definite system in float64', () => {
    const n = 5;
    const m = 2;
    const r = Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 1.7) + (i % 3));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += r[k * n + i] * r[k * n + j];
    for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
    const b = Float64Array.from({ length: n * m }, (_, i) => Math.cos(i));
    const x = choleskySolve(a, b, n, m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k] * x[k * m + j];
        expect(s).toBeCloseTo(b[i * m + j], 10);
      }
    }
    expect(() => choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2, 1)).toThrow(/not positive definite/);
  });

  it.each(Object.keys(CONSUMERS) as (keyof typeof CONSUMERS)[])('a %s consumer recovers removed channels that copy kept ones exactly', async (consumer) => {
    const model = twoConvs(consumer);
    duplicateChannels(model);
    const graph = readChannelGraph(model);
    const removed = groupsOf(graph, 'a', [5, 6, 7]);
    const x = tf.randomUniform([6, 12, 12, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const original = model.predict(x) as tf.Tensor;
    const pruned = await pruneModel(graph, removed);
    const sliced = pruned.predict(x) as tf.Tensor;
    // Slicing alone loses the copies' contribution...
    expect(maxAbsDiff(sliced, original)).toBeGreaterThan(0.05);
    // (A negligible ridge: the default one leans towards the sliced weights, here the exact answer is wanted.)
    const report = await refitConvolutions(graph, removed, pruned, x, { ridge: 1e-9 });
    // ...which the consumer can fold into the kept copies' weights: the refit finds that.
    expect(report.refitted.map((l) => l.name)).toEqual(['b']);
    expect(report.refitted[0].before).toBeGreaterThan(1e-3);
    expect(report.refitted[0].after).toBeLessThan(1e-6);
    const refitted = pruned.predict(x) as tf.Tensor;
    const xNew = tf.randomUniform([2, 12, 12, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    // On images it was not fitted on too (the copies are exact, not just fitted).
    expect(maxAbsDiff(refitted, original)).toBeLessThan(1e-3);
    expect(maxAbsDiff(pruned.predict(xNew) as tf.Tensor, model.predict(xNew) as tf.Tensor)).toBeLessThan(1e-3);
    tf.dispose([x, xNew, original, sliced, refitted]);
    pruned.dispose();
    model.dispose();
  });

  it('never makes a layer worse, leaves untouched layers alone and says which layers it skipped', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 16, depth: 1, seed: 3 }));
    randomiseWeights(model);
    const graph = readChannelGraph(model);
    const removed = new Set(graph.groups.filter((g) => g.prunable && g.id % 3 === 0).map((g) => g.id));
    const pruned = await pruneModel(graph, removed);
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const report = await refitConvolutions(graph, removed, pruned, x);
    expect(report.refitted.length).toBeGreaterThan(3);
    for (const l of report.refitted) expect(l.after).toBeLessThanOrEqual(l.before);
    // The first convolution reads the image: its input never changes, so it is not refitted.
    expect(report.refitted.map((l) => l.name)).not.toContain(graph.layers.find((l) => l.role === 'source')!.name);
    expect(report.skipped).toEqual([]);
    x.dispose();
    pruned.dispose();
    model.dispose();
  });

  it('skips convolutions with a fused non-linear activation, naming them', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const a = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'b' }).apply(a) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: b });
    const graph = readChannelGraph(model);
    const pruned = await pruneModel(graph, groupsOf(graph, 'a', [0, 1]));
    const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const report = await refitConvolutions(graph, groupsOf(graph, 'a', [0, 1]), pruned, x);
    expect(report.refitted).toEqual([]);
    expect(report.skipped).toEqual([{ name: 'b', why: 'fused tanh activation (not linear in its weights)' }]);
    x.dispose();
    pruned.dispose();
    model.dispose();
  });
});

describe('data-driven selection', () => {
  it('scores a channel nothing reads and a zeroed channel at zero, and ranks by the real effect of removal', async () => {
    const model = twoConvs('Conv2D 3x3 same');
    // Channel 7 feeds nothing: the consumer's weights for it are zero.
    const b = model.getLayer('b');
    const [kernel, bias] = b.getWeights();
    const mask = tf.tensor([1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 8, 1]);
    b.setWeights([tf.mul(kernel, mask), bias]);
    const graph = readChannelGraph(model);
    zeroGroups(graph, groupsOf(graph, 'a', [6]));
    const x = tf.randomUniform([4, 12, 12, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const score = await outputSensitivity(graph, x, { probes: 64, seed: 2 });
    const [g6, g7] = [...groupsOf(graph, 'a', [6]), ...groupsOf(graph, 'a', [7])];
    expect(score[g6]).toBe(0);
    expect(score[g7]).toBe(0);
    // For the live channels: the exact squared output change of removing each one alone.
    const before = model.predict(x) as tf.Tensor;
    const truth: number[] = [];
    for (let c = 0; c < 6; c++) {
      const copy = await pruneModel(graph, groupsOf(graph, 'a', [c]));
      truth.push(tf.tidy(() => tf.sum(tf.squaredDifference(copy.predict(x) as tf.Tensor, before)).dataSync()[0]));
      copy.dispose();
    }
    const estimate = [0, 1, 2, 3, 4, 5].map((c) => score[[...groupsOf(graph, 'a', [c])][0]]);
    // ReLU makes the first-order estimate approximate: the most and least important agree.
    const argmax = (v: number[]) => v.indexOf(Math.max(...v));
    const argmin = (v: number[]) => v.indexOf(Math.min(...v));
    expect(argmax(estimate)).toBe(argmax(truth));
    expect(argmin(estimate)).toBe(argmin(truth));
    tf.dispose([x, before]);
    model.dispose();
  });

  it('meets a MACs budget in rounds, keeps every layer above its floor, and ranks per MAC saved', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 6, size: 16, depth: 1, seed: 4 }));
    randomiseWeights(model);
    const graph = readChannelGraph(model);
    const size: [number, number] = [16, 16];
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
    const full = modelCost(graph, size).macs;
    const selection = await selectByImportance(graph, { kind: 'macs', keep: 0.3 }, size, x, { rounds: 2, probes: 1 });
    expect(modelCost(graph, size, selection.removed).macs).toBeLessThanOrEqual(full * 0.3);
    expect(selection.order.flat().length).toBe(selection.removed.size);
    expect(selection.order.every((step) => step.length === 1)).toBe(true);
    for (const g of selection.removed) expect(graph.groups[g].prunable).toBe(true);
    const pruned = await pruneModel(graph, selection.removed);
    for (const l of readChannelGraph(pruned).layers.filter((l) => l.role === 'source')) {
      const before = graph.byName.get(l.name)!.channels.length;
      expect(l.channels.length).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(MIN_LAYER_SHARE * before)));
    }
    // FPS searches take prefixes of one ranking: smaller shares remove a superset.
    const select = await importanceOrder(graph, size, x, { rounds: 2, probes: 1 });
    const [half, quarter] = [await select(0.5), await select(0.25)];
    for (const g of half) expect(quarter.has(g)).toBe(true);
    expect(modelCost(graph, size, quarter).macs).toBeLessThanOrEqual(full * 0.25);
    await expect(selectByImportance(graph, { kind: 'macs', keep: 1e-4 }, size, x)).rejects.toThrow(/cannot be met/);
    x.dispose();
    pruned.dispose();
    model.dispose();
  });

  it('with a channel multiple, leaves every pruned convolution at a multiple of it (or its full width)', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 10, size: 16, depth: 1, seed: 5 }));
    randomiseWeights(model);
    const graph = readChannelGraph(model);
    const size: [number, number] = [16, 16];
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const full = modelCost(graph, size).macs;
    const selection = await selectByImportance(graph, { kind: 'macs', keep: 0.4 }, size, x, { rounds: 2, probes: 1, multiple: 4 });
    expect(modelCost(graph, size, selection.removed).macs).toBeLessThanOrEqual(full * 0.4);
    const widths = (g: typeof graph, removed: ReadonlySet<number>) =>
      g.layers.filter((l) => l.role === 'source').map((l) => [l.channels.length, l.channels.filter((c) => !removed.has(c)).length]);
    const narrowed = widths(graph, selection.removed).filter(([before, after]) => after < before);
    expect(narrowed.length).toBeGreaterThan(0);
    for (const [, after] of narrowed) expect(after % 4).toBe(0);
    // Without the multiple, the same budget leaves widths that are not.
    const plain = await selectByImportance(graph, { kind: 'macs', keep: 0.4 }, size, x, { rounds: 2, probes: 1 });
    expect(widths(graph, plain.removed).some(([before, after]) => after < before && after % 4 !== 0)).toBe(true);
    // The FPS ranking stops between tiles too.
    const select = await importanceOrder(graph, size, x, { rounds: 2, probes: 1, multiple: 4 });
    for (const keep of [0.7, 0.3]) {
      for (const [before, after] of widths(graph, await select(keep))) if (after < before) expect(after % 4).toBe(0);
    }
    x.dispose();
    model.dispose();
  });
});
