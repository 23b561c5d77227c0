/**
 * A model as the Models page draws it: its layers in topological order with their inputs, output
 * channels, MACs and parameters at one input size, and, next to a pruned copy, what pruning left of
 * each layer (pruning keeps layer names: it rewrites widths in the config and slices the weights).
 */
import type * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from './channel-graph';
import { modelCost } from '../measure/cost';

export interface LayerView {
  name: string;
  className: string;
  /** Inbound layer names, in order. */
  inputs: string[];
  /** Output [H, W, C] for one input of the view's size. */
  outShape: [number, number, number];
  macs: number;
  params: number;
}

export interface ModelView {
  name: string;
  size: [number, number];
  macs: number;
  params: number;
  layers: LayerView[];
}

/** The layer graph of `model` at `size` x `size` (throws UnsupportedModelError as pruning would). */
export function modelView(model: tf.LayersModel, size: number): ModelView {
  const graph = readChannelGraph(model);
  const cost = modelCost(graph, [size, size]);
  const byName = new Map(cost.layers.map((l) => [l.name, l]));
  return {
    name: model.name,
    size: [size, size],
    macs: cost.macs,
    params: cost.params,
    layers: graph.layers.map((l) => {
      const c = byName.get(l.name)!;
      return { name: l.name, className: l.className, inputs: l.inputs, outShape: c.outShape, macs: c.macs, params: c.params };
    }),
  };
}

export interface ComparedLayer extends LayerView {
  /** The layer of the same name in the pruned model. */
  pruned: LayerView;
}

/**
 * Each layer of `original` next to the layer of the same name in `pruned`. Refused when the two
 * are not one network at two widths (a layer missing, or wired to other inputs), because then the
 * side-by-side would claim removals that are really a different model.
 */
export function compareViews(original: ModelView, pruned: ModelView): ComparedLayer[] {
  const byName = new Map(pruned.layers.map((l) => [l.name, l]));
  const missing = original.layers.filter((l) => !byName.has(l.name)).map((l) => l.name);
  const extra = pruned.layers.filter((l) => !original.layers.some((o) => o.name === l.name)).map((l) => l.name);
  if (missing.length || extra.length) {
    const names = (xs: string[]) => xs.slice(0, 3).join(', ') + (xs.length > 3 ? ` and ${xs.length - 3} more` : '');
    throw new Error(`'${pruned.name}' is not a pruned copy of '${original.name}': ${missing.length ? `it lacks ${names(missing)}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `it has ${names(extra)} that the original lacks` : ''}`);
  }
  return original.layers.map((l) => {
    const p = byName.get(l.name)!;
    if (p.inputs.join() !== l.inputs.join()) throw new Error(`'${pruned.name}' is not a pruned copy of '${original.name}': layer '${l.name}' takes other inputs`);
    return { ...l, pruned: p };
  });
}
