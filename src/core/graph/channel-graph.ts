/**
 * Reads a tf.LayersModel into channel groups: sets of channels, across layers, that must be kept
 * or removed together. Every channel of every layer output maps to one group id.
 *
 * How channels propagate (DepGraph-style, per channel, with union-find):
 * - a source (Conv2D, Conv2DTranspose) makes fresh channels, one per filter;
 * - a follower (norms, activations, paddings, resizes, depthwise conv with multiplier 1) keeps its
 *   input's channels, so its per-channel parameters belong to those groups;
 * - an element-wise merge (Add, ...) ties channel i of every input together;
 * - Concatenate lays its inputs' channels side by side (offsets);
 * - model inputs and outputs, channels fed through an activation with f(0) != 0 and the input of a
 *   depthwise conv with multiplier > 1 are pinned (never removed), because removing them would
 *   change the model's function or interface.
 */
import * as tf from '@tensorflow/tfjs';

export type LayerRole = 'input' | 'source' | 'follow' | 'merge' | 'concat';

const SOURCES = ['Conv2D', 'Conv2DTranspose'];
const FOLLOWERS = [
  'BatchNormalization',
  'InstanceNormalization',
  'ReflectionPadding2D',
  'EdgePadding2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Dropout',
  'SpatialDropout2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'DepthwiseConv2D',
];
const MERGES = ['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum'];
export const SUPPORTED_LAYERS: readonly string[] = ['InputLayer', ...SOURCES, ...FOLLOWERS, ...MERGES, 'Concatenate'];

/** Activations that keep a zero channel at zero; anything else pins the channels it touches. */
const ZERO_PRESERVING = new Set(['linear', 'relu', 'relu6', 'elu', 'selu', 'tanh', 'swish', 'mish', 'gelu', 'gelu_new', 'leakyrelu']);

export class UnsupportedModelError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    detail?: string,
  ) {
    super(
      `Layer '${layerName}' (class ${className}) ${detail ?? 'is not supported'}. ` +
        `Supported layers: ${SUPPORTED_LAYERS.join(', ')}.`,
    );
    this.name = 'UnsupportedModelError';
  }
}

export interface GraphLayer {
  name: string;
  className: string;
  role: LayerRole;
  layer: tf.layers.Layer;
  /** Inbound layer names, in order. */
  inputs: string[];
  /** Group id of each output channel. */
  channels: number[];
  /** Group id of each channel of the (first) input; empty for input layers. */
  inChannels: number[];
}

export interface ChannelGroup {
  id: number;
  /** Channels of this group: how many layer outputs carry it (1 unless coupled). */
  width: number;
  prunable: boolean;
  /** Why the group is pinned, when it is. */
  pinnedBy?: string;
  /** Layers whose parameters have a slice for this group (producers and followers). */
  layers: string[];
}

export interface ChannelGraph {
  model: tf.LayersModel;
  /** Topological order. */
  layers: GraphLayer[];
  byName: Map<string, GraphLayer>;
  groups: ChannelGroup[];
}

class UnionFind {
  private parent: number[] = [];
  make(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }
  find(a: number): number {
    while (this.parent[a] !== a) {
      this.parent[a] = this.parent[this.parent[a]];
      a = this.parent[a];
    }
    return a;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[rb] = ra;
  }
}

export type AnyLayer = tf.layers.Layer & {
  inboundNodes: { inboundLayers: tf.layers.Layer[] }[];
  getConfig(): Record<string, unknown>;
};

function channelCount(layer: tf.layers.Layer): number {
  const shape = layer.outputShape as (number | null)[];
  if (!Array.isArray(shape) || Array.isArray(shape[0])) {
    throw new UnsupportedModelError(layer.name, layer.getClassName(), 'has several outputs');
  }
  if (shape.length !== 4) {
    throw new UnsupportedModelError(layer.name, layer.getClassName(), `has a rank-${shape.length} output; only NHWC image tensors are supported`);
  }
  const c = shape[3];
  if (c == null) throw new UnsupportedModelError(layer.name, layer.getClassName(), 'has an unknown channel count');
  return c;
}

function roleOf(layer: AnyLayer): LayerRole {
  const cls = layer.getClassName();
  if (cls === 'InputLayer') return 'input';
  if (SOURCES.includes(cls)) return 'source';
  if (MERGES.includes(cls)) return 'merge';
  if (cls === 'Concatenate') {
    const axis = layer.getConfig().axis as number;
    if (axis !== -1 && axis !== 3) {
      throw new UnsupportedModelError(layer.name, cls, `concatenates along axis ${axis}; only the channel axis is supported`);
    }
    return 'concat';
  }
  if (FOLLOWERS.includes(cls)) return 'follow';
  const nested = ['Functional', 'Sequential', 'Model', 'LayersModel'].includes(cls);
  throw new UnsupportedModelError(layer.name, cls, nested ? 'is a nested model; flatten it first' : undefined);
}

/** The `activation` setting of Activation, Conv2D, ... (ReLU-like layer classes have none). */
function activationOf(layer: AnyLayer): string | undefined {
  const a = layer.getConfig().activation;
  return typeof a === 'string' ? a.toLowerCase() : undefined;
}

/** Topological order of the layers reachable from the model outputs. */
export function topoOrder(model: tf.LayersModel): AnyLayer[] {
  const order: AnyLayer[] = [];
  const state = new Map<AnyLayer, 'visiting' | 'done'>();
  const visit = (layer: AnyLayer) => {
    const s = state.get(layer);
    if (s === 'done') return;
    if (s === 'visiting') throw new UnsupportedModelError(layer.name, layer.getClassName(), 'is part of a cycle');
    state.set(layer, 'visiting');
    if (layer.inboundNodes.length > 1) {
      throw new UnsupportedModelError(layer.name, layer.getClassName(), 'is applied more than once (shared layer)');
    }
    for (const inbound of layer.inboundNodes[0]?.inboundLayers ?? []) visit(inbound as AnyLayer);
    state.set(layer, 'done');
    order.push(layer);
  };
  for (const out of model.outputs) visit(out.sourceLayer as AnyLayer);
  return order;
}

export function readChannelGraph(model: tf.LayersModel): ChannelGraph {
  const uf = new UnionFind();
  const pinned = new Map<number, string>();
  const pin = (elements: number[], why: string) => elements.forEach((e) => pinned.has(e) || pinned.set(e, why));
  const fresh = (n: number) => Array.from({ length: n }, () => uf.make());
  const raw = new Map<string, { channels: number[]; inChannels: number[] }>();
  const layers: GraphLayer[] = [];

  for (const layer of topoOrder(model)) {
    const cls = layer.getClassName();
    const role = roleOf(layer);
    const inputs = (layer.inboundNodes[0]?.inboundLayers ?? []).map((l) => l.name);
    const inputChannels = inputs.map((n) => raw.get(n)!.channels);
    const c = channelCount(layer);
    const inChannels = inputChannels[0] ?? [];
    let channels: number[];

    if (role === 'input') {
      channels = fresh(c);
      pin(channels, `model input '${layer.name}'`);
    } else if (role === 'source') {
      channels = fresh(c);
    } else if (role === 'concat') {
      channels = inputChannels.flat();
    } else if (role === 'merge') {
      channels = inputChannels[0];
      for (const other of inputChannels.slice(1)) {
        if (other.length !== channels.length) {
          throw new UnsupportedModelError(layer.name, cls, `merges inputs with ${channels.length} and ${other.length} channels (broadcasting is not supported)`);
        }
        other.forEach((e, i) => uf.union(channels[i], e));
      }
    } else if (cls === 'DepthwiseConv2D' && c !== inChannels.length) {
      // Multiplier > 1: output channel c*m+k comes from input channel c; keep both sides whole.
      pin(inChannels, `input of depthwise conv '${layer.name}' with depth multiplier > 1`);
      channels = fresh(c);
      pin(channels, `output of depthwise conv '${layer.name}' with depth multiplier > 1`);
    } else {
      if (c !== inChannels.length) {
        throw new UnsupportedModelError(layer.name, cls, `changes the channel count (${inChannels.length} -> ${c})`);
      }
      channels = inChannels;
    }

    const act = activationOf(layer);
    if (act !== undefined && !ZERO_PRESERVING.has(act)) {
      pin(channels, `activation '${act}' of '${layer.name}' is not zero at zero`);
    }
    raw.set(layer.name, { channels, inChannels });
    layers.push({ name: layer.name, className: cls, role, layer, inputs, channels, inChannels });
  }
  for (const out of model.outputs) pin(raw.get(out.sourceLayer.name)!.channels, `model output '${out.sourceLayer.name}'`);

  // Collapse union-find roots into dense group ids.
  const idOf = new Map<number, number>();
  const groups: ChannelGroup[] = [];
  const groupFor = (e: number) => {
    const root = uf.find(e);
    let id = idOf.get(root);
    if (id === undefined) {
      id = groups.length;
      idOf.set(root, id);
      groups.push({ id, width: 0, prunable: true, layers: [] });
    }
    return id;
  };
  for (const [e, why] of pinned) {
    const g = groups[groupFor(e)];
    if (g.prunable) {
      g.prunable = false;
      g.pinnedBy = why;
    }
  }
  for (const l of layers) {
    l.channels = l.channels.map(groupFor);
    l.inChannels = l.inChannels.map(groupFor);
    if (l.role === 'source' || (l.role === 'follow' && l.layer.weights.length > 0)) {
      for (const g of new Set(l.channels)) groups[g].layers.push(l.name);
    }
    if (l.role === 'source') for (const g of l.channels) groups[g].width++;
  }
  return { model, layers, byName: new Map(layers.map((l) => [l.name, l])), groups };
}
