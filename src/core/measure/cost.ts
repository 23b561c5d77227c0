/**
 * MACs and parameter counts of a channel graph at a given input size, for the full model or with
 * some channel groups removed (so budgets can be evaluated without building models).
 *
 * Convention (the one behind the published 56.8 GMACs of the CycleGAN ResNet generator, as in GAN
 * Compression): only convolutions count; a convolution costs outH * outW * kh * kw * inC * outC
 * (per group for depthwise). A transposed convolution is counted the same way over its *output*
 * pixels, which is s^2 times the multiplies it really needs at stride s (the scatter form does
 * inH * inW * kh * kw * inC * outC). Biases, norms and activations are not counted.
 */
import type { ChannelGraph, GraphLayer } from '../graph/channel-graph';
import { weightAxes } from '../graph/weight-axes';

export type Shape3 = [number, number, number];

export interface LayerCost {
  name: string;
  className: string;
  outShape: Shape3;
  macs: number;
  params: number;
}

export interface ModelCost {
  size: [number, number];
  macs: number;
  params: number;
  layers: LayerCost[];
}

/** The input H, W the model fixes, or null where it accepts any size. */
export function fixedInputSize(graph: ChannelGraph): [number, number] | null {
  const shape = graph.model.inputs[0].shape;
  return shape[1] != null && shape[2] != null ? [shape[1], shape[2]] : null;
}

/** Resolves the size to measure at: the model's own, or the requested one for size-free models. */
export function resolveSize(graph: ChannelGraph, requested?: number): [number, number] {
  const fixed = fixedInputSize(graph);
  if (fixed) {
    if (requested != null && (requested !== fixed[0] || requested !== fixed[1])) {
      throw new Error(`The model takes ${fixed[0]}x${fixed[1]} inputs; --size ${requested} does not match`);
    }
    return fixed;
  }
  if (requested == null) {
    const shape = JSON.stringify(graph.model.inputs[0].shape).replace(/null/g, 'null');
    throw new Error(`The model's input size is not fixed (${shape}); give the size to measure at (--size N)`);
  }
  return [requested, requested];
}

/** Output shape [H, W, C] of every layer for a batch of one input of the given size. */
export function layerShapes(graph: ChannelGraph, size: [number, number]): Map<string, Shape3> {
  const shapes = new Map<string, Shape3>();
  for (const l of graph.layers) {
    let out: (number | null)[];
    if (l.role === 'input') {
      out = [1, size[0], size[1], l.channels.length];
    } else {
      const ins = l.inputs.map((n) => [1, ...shapes.get(n)!]);
      out = l.layer.computeOutputShape(ins.length === 1 ? ins[0] : ins) as (number | null)[];
    }
    const [, h, w, c] = out;
    if (h == null || w == null || c == null || h <= 0 || w <= 0) {
      throw new Error(`Layer '${l.name}' has no valid output at input size ${size[0]}x${size[1]} (got ${JSON.stringify(out)})`);
    }
    shapes.set(l.name, [h, w, c]);
  }
  return shapes;
}

/** Counts channels whose group is not removed. */
export function aliveCount(channels: number[], removed: ReadonlySet<number>): number {
  let n = 0;
  for (const g of channels) if (!removed.has(g)) n++;
  return n;
}

function kernelArea(l: GraphLayer): number {
  const k = (l.layer.getConfig() as { kernelSize?: number | number[] }).kernelSize ?? 1;
  return Array.isArray(k) ? k[0] * k[1] : k * k;
}

/** MACs and params of one layer given its alive input and output channel counts. */
export function layerCost(l: GraphLayer, outShape: Shape3, cin: number, cout: number): { macs: number; params: number } {
  let params = 0;
  for (const w of l.layer.weights) {
    const axes = weightAxes(l, w.shape.length);
    params += w.shape.reduce<number>((p, d, i) => p * (i === axes.out ? cout : i === axes.in ? cin : (d as number)), 1);
  }
  const pixels = outShape[0] * outShape[1];
  let macs = 0;
  if (l.role === 'source') macs = pixels * kernelArea(l) * cin * cout;
  else if (l.className === 'DepthwiseConv2D') macs = pixels * kernelArea(l) * cout;
  return { macs, params };
}

export function modelCost(graph: ChannelGraph, size: [number, number], removed: ReadonlySet<number> = new Set()): ModelCost {
  const shapes = layerShapes(graph, size);
  const layers = graph.layers.map((l) => {
    const out = shapes.get(l.name)!;
    const cout = aliveCount(l.channels, removed);
    const cin = aliveCount(l.inChannels, removed);
    return { name: l.name, className: l.className, outShape: [out[0], out[1], cout] as Shape3, ...layerCost(l, out, cin, cout) };
  });
  return {
    size,
    macs: layers.reduce((s, l) => s + l.macs, 0),
    params: layers.reduce((s, l) => s + l.params, 0),
    layers,
  };
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}
