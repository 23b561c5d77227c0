import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { compareViews, modelView } from '../../src/core/graph/model-view';
import { pruneModel } from '../../src/core/compress/prune';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { layoutEdges } from '../../src/ui/graph-layout';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('the Models page view of a network', () => {
  it('lists layers in order with their inputs, widths and costs, and what pruning left of each', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: null, depth: 1, downsamplings: 0, norm: 'batch', seed: 1 }));
    const view = modelView(model, 32);
    expect(view.layers[0].className).toBe('InputLayer');
    // Every input is a layer listed before it (topological order), and a residual Add has two.
    const seen = new Set<string>();
    for (const l of view.layers) {
      l.inputs.forEach((i) => expect(seen.has(i)).toBe(true));
      seen.add(l.name);
    }
    expect(view.layers.some((l) => l.className === 'Add' && l.inputs.length === 2)).toBe(true);
    expect(view.macs).toBe(view.layers.reduce((s, l) => s + l.macs, 0));
    expect(view.layers.at(-1)!.outShape).toEqual([32, 32, 3]);

    const graph = readChannelGraph(model);
    const removed = new Set(graph.groups.filter((g) => g.prunable).slice(0, 2).map((g) => g.id));
    const student = await pruneModel(graph, removed);
    const compared = compareViews(view, modelView(student, 32));
    const narrower = compared.filter((l) => l.pruned.outShape[2] < l.outShape[2]);
    expect(narrower.length).toBeGreaterThan(0);
    const lost = (name: string) => compared.find((l) => l.name === name)!.outShape[2] - compared.find((l) => l.name === name)!.pruned.outShape[2];
    // Two groups of one channel each were removed, from whichever layers carry them.
    expect(Math.max(...narrower.map((l) => lost(l.name)))).toBeLessThanOrEqual(2);
    expect(compared.every((l) => l.pruned.macs <= l.macs)).toBe(true);

    // A different network is refused with the layers that differ, not drawn as a pruning.
    const other = buildGenerator(defaultSpec('resnet', { ngf: 4, size: null, depth: 2, downsamplings: 0, norm: 'batch', seed: 1 }));
    expect(() => compareViews(view, modelView(other, 32))).toThrow(/is not a pruned copy of .*: it has block2/);
    [model, student, other].forEach((m) => m.dispose());
  });
});

describe('the Models page layout of edges', () => {
  it('draws neighbours straight and puts overlapping skips in separate lanes, short ones inside', () => {
    const layers = [
      { name: 'in', inputs: [] },
      { name: 'a', inputs: ['in'] },
      { name: 'b', inputs: ['a'] },
      { name: 'add1', inputs: ['b', 'a'] },
      { name: 'c', inputs: ['add1'] },
      { name: 'cat', inputs: ['c', 'in', 'add1'] },
    ];
    const { skips, lanes } = layoutEdges(layers);
    expect(skips).toEqual([
      { from: 1, to: 3, lane: 0 },
      { from: 3, to: 5, lane: 0 }, // touches the first at row 3 only: same lane
      { from: 0, to: 5, lane: 1 },
    ]);
    expect(lanes).toBe(2);
  });
});
