import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChannelGraph, type ChannelGraph } from '../../src/core/graph/channel-graph';
import { modelCost, resolveSize } from '../../src/core/measure/cost';
import { parseBudget } from '../../src/core/compress/budget';
import { groupNorms, normalisedGroups, pruneModel, scaleGroups, selectGroups, zeroGroups } from '../../src/core/compress/prune';
import { loadModelFromFiles, saveModelToFiles } from '../../src/core/io/model-files';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { denseBlockModel, randomiseWeights } from '../helpers/models';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Every third prunable group: a spread over all layers that never empties one. */
function someGroups(graph: ChannelGraph): Set<number> {
  return new Set(graph.groups.filter((g) => g.prunable && g.id % 3 === 0).map((g) => g.id));
}

const cases: [string, () => tf.LayersModel][] = [
  ['U-Net (BatchNorm, concat skips)', () => buildGenerator(defaultSpec('unet', { ngf: 4, size: 32, depth: 4 }))],
  ['ResNet generator (reflection pad, instance norm, Add)', () => buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 2 }))],
  ['dense block (concat feeding add, depthwise)', () => denseBlockModel(16)],
  [
    'Sequential model',
    () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 12, kernelSize: 3, padding: 'same', name: 's1' }),
          tf.layers.batchNormalization({ name: 's1_bn' }),
          tf.layers.leakyReLU({ name: 's1_act' }),
          tf.layers.conv2dTranspose({ filters: 9, kernelSize: 3, strides: 2, padding: 'same', name: 's2' }),
          tf.layers.reLU({ name: 's2_act' }),
          tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 's3' }),
        ],
      }),
  ],
];

describe('zeroing channel groups then pruning exactly those gives the same outputs', () => {
  it.each(cases)('%s', async (_name, make) => {
    const model = make();
    randomiseWeights(model);
    const graph = readChannelGraph(model);
    const [, h, w, c] = model.inputs[0].shape as number[];
    const x = tf.randomUniform([2, h, w, c], -1, 1, 'float32', 9);
    const original = model.predict(x) as tf.Tensor;

    const removed = someGroups(graph);
    expect(removed.size).toBeGreaterThan(3);
    zeroGroups(graph, removed);
    const zeroed = model.predict(x) as tf.Tensor;
    // The removed channels mattered: zeroing them changed the output.
    expect(maxAbsDiff(original, zeroed)).toBeGreaterThan(1e-2);

    const pruned = await pruneModel(graph, removed);
    expect(maxAbsDiff(zeroed, pruned.predict(x) as tf.Tensor)).toBeLessThan(1e-4);

    const size = resolveSize(graph);
    const predicted = modelCost(graph, size, removed);
    const actual = modelCost(readChannelGraph(pruned), size);
    expect(pruned.countParams()).toBe(predicted.params);
    expect(actual.macs).toBe(predicted.macs);
    expect(actual.macs).toBeLessThan(modelCost(graph, size).macs);

    // The pruned model is a plain tfjs model: it survives a save and reload unchanged.
    const files = await saveModelToFiles(pruned);
    const reloaded = await loadModelFromFiles(files.modelJson, files.shards);
    expect(maxAbsDiff(pruned.predict(x) as tf.Tensor, reloaded.predict(x) as tf.Tensor)).toBe(0);
  });
});

describe('budgets', () => {
  it.each([
    ['macs=0.25', 'macs'],
    ['params=0.5', 'params'],
  ] as const)('%s is met, and not overshot by more than needed', async (text, key) => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 8, size: 32, depth: 2 }));
    const graph = readChannelGraph(model);
    const budget = parseBudget(text);
    const size = resolveSize(graph);
    const before = modelCost(graph, size)[key];
    const { removed } = await selectGroups(graph, budget, size);
    const pruned = await pruneModel(graph, removed);
    const after = modelCost(readChannelGraph(pruned), size)[key];
    const keep = (budget as { keep: number }).keep;
    expect(after).toBeLessThanOrEqual(before * keep);
    expect(after).toBeGreaterThan(before * keep * 0.8);
  });

  it('threshold removes exactly the groups whose parameters are zero after condensation', async () => {
    const model = buildGenerator(defaultSpec('unet', { ngf: 4, size: 32, depth: 4 }));
    randomiseWeights(model);
    const graph = readChannelGraph(model);
    const dead = someGroups(graph);
    zeroGroups(graph, dead);
    const { norm } = await groupNorms(graph);
    for (const g of dead) expect(norm[g]).toBe(0);
    const { removed } = await selectGroups(graph, parseBudget('threshold=1e-6'), resolveSize(graph));
    expect([...removed].sort((a, b) => a - b)).toEqual([...dead].sort((a, b) => a - b));
  });

  it('says so when a budget cannot be met without emptying layers', async () => {
    const graph = readChannelGraph(buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 })));
    await expect(selectGroups(graph, parseBudget('macs=0.001'), [32, 32])).rejects.toThrow(/A MACs budget of 0.001 cannot be met: .* leave 0\.\d+ of its MACs/);
  });

  it('rejects budgets that mean nothing', () => {
    expect(() => parseBudget('macs=1.5')).toThrow(/fraction to keep, in \(0, 1\]/);
    expect(() => parseBudget('flops=0.3')).toThrow(/not understood/);
    expect(() => parseBudget('threshold=-1')).toThrow(/>= 0/);
  });
});

describe('models of unknown input size and with a different output size', () => {
  function upsampler(): tf.LayersModel {
    const input = tf.input({ shape: [null, null, 3], name: 'lowres' });
    let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'refine' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'rgb' }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  it('needs an explicit size, then counts and prunes a 2x upsampler', async () => {
    const model = upsampler();
    const graph = readChannelGraph(model);
    expect(() => resolveSize(graph)).toThrow(/input size is not fixed.*--size/);
    const size = resolveSize(graph, 16);
    const cost = modelCost(graph, size);
    expect(cost.layers.find((l) => l.name === 'rgb')!.outShape).toEqual([32, 32, 3]);
    // feat: 16*16*9*3*8, refine: 32*32*9*8*8, rgb: 32*32*9*8*3
    expect(cost.macs).toBe(16 * 16 * 9 * 3 * 8 + 32 * 32 * 9 * 8 * 8 + 32 * 32 * 9 * 8 * 3);
    const { removed } = await selectGroups(graph, parseBudget('macs=0.5'), size);
    const pruned = await pruneModel(graph, removed);
    expect((pruned.predict(tf.zeros([1, 20, 12, 3])) as tf.Tensor).shape).toEqual([1, 40, 24, 3]);
  });

  it('refuses a size that contradicts a fixed-size model', () => {
    const graph = readChannelGraph(buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 })));
    expect(() => resolveSize(graph, 64)).toThrow(/takes 32x32 inputs; --size 64 does not match/);
  });
});

describe('channels behind a normalisation layer', () => {
  it('are sized by the norm: shrinking such a group leaves its filters, zeroes gamma and beta, and pruning it is exact', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 16, depth: 2, seed: 3 }));
    randomiseWeights(model, 5);
    const graph = readChannelGraph(model);
    const normalised = normalisedGroups(graph);
    // Every prunable group of this generator ends in an instance norm; the model's output does not.
    expect(graph.groups.filter((g) => g.prunable).every((g) => normalised.has(g.id))).toBe(true);
    const g = graph.groups.find((x) => x.prunable && graph.byName.get('block1_conv1')!.channels.includes(x.id))!.id;
    const conv = graph.byName.get('block1_conv1')!.layer;
    const channel = graph.byName.get('block1_conv1')!.channels.indexOf(g);
    const filterBefore = await tf.slice(conv.getWeights()[0], [0, 0, 0, channel], [-1, -1, -1, 1]).abs().sum().data();
    scaleGroups(graph, Float64Array.from(graph.groups, (x) => (x.id === g ? 0 : 1)), false);
    const filterAfter = await tf.slice(conv.getWeights()[0], [0, 0, 0, channel], [-1, -1, -1, 1]).abs().sum().data();
    expect(filterAfter[0]).toBe(filterBefore[0]);
    expect((await groupNorms(graph)).norm[g]).toBe(0);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 9);
    const pruned = await pruneModel(graph, (await selectGroups(graph, { kind: 'threshold', value: Number.MIN_VALUE }, [16, 16])).removed);
    expect(pruned.countParams()).toBeLessThan(model.countParams());
    expect(maxAbsDiff(pruned.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
  });
});
