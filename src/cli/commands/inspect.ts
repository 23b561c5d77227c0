/** `alap inspect`: a model's layers, MACs, parameters and channel groups. */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph, type ChannelGraph } from '../../core/graph/channel-graph';
import { modelCost, formatCount, resolveSize } from '../../core/measure/cost';
import { int, type Values, modelArg } from '../args';
import { readModelDir } from '../model-dir';

export function summary(graph: ChannelGraph, size: [number, number]) {
  const cost = modelCost(graph, size);
  const prunable = graph.groups.filter((g) => g.prunable);
  return { cost, groups: graph.groups.length, prunable: prunable.length };
}

export async function inspect(positionals: string[], values: Values) {
  await tf.setBackend('cpu');
  const model = await readModelDir(modelArg(positionals));
  const graph = readChannelGraph(model);
  const size = resolveSize(graph, int(values, 'size'));
  const { cost, groups, prunable } = summary(graph, size);
  if (values.json) {
    const layers = cost.layers.map((l) => ({ ...l, groups: new Set(graph.byName.get(l.name)!.channels).size }));
    console.log(JSON.stringify({ name: model.name, size, macs: cost.macs, params: cost.params, groups, prunableGroups: prunable, layers }, null, 2));
    return;
  }
  console.log(`${model.name}: input ${JSON.stringify(model.inputs[0].shape)}, measured at ${size[0]}x${size[1]}`);
  console.log(`${'layer'.padEnd(22)} ${'class'.padEnd(22)} ${'output'.padEnd(16)} ${'MACs'.padStart(10)} ${'params'.padStart(10)}`);
  for (const l of cost.layers) {
    const shape = `${l.outShape[0]}x${l.outShape[1]}x${l.outShape[2]}`;
    console.log(`${l.name.padEnd(22)} ${l.className.padEnd(22)} ${shape.padEnd(16)} ${formatCount(l.macs).padStart(10)} ${formatCount(l.params).padStart(10)}`);
  }
  console.log(`total: ${formatCount(cost.macs)}MACs (${cost.macs}), ${formatCount(cost.params)} params (${cost.params})`);
  console.log(`channel groups: ${groups} (${prunable} prunable, ${groups - prunable} pinned: model inputs/outputs and what they fix)`);
}
