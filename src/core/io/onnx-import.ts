/**
 * ONNX import: an image-to-image network as torch.onnx.export writes it (opset 13 and later, NCHW)
 * becomes an ordinary NHWC tfjs Layers model made of the layers alap can prune, with the weights
 * transposed. Every op and attribute is mapped exactly or refused: one sentence naming the node,
 * its op type and what cannot be mapped. Nothing is returned half-built.
 */
import * as tf from '@tensorflow/tfjs';
import { EdgePadding2D, InstanceNormalization, ReflectionPadding2D } from '../models/layers';
import { transpose } from './onnx-export';
import { onnx } from './onnx-proto';
import { fromFloat16Bits } from './quantize';

export class OnnxImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxImportError';
  }
}

export interface ImportedOnnx {
  model: tf.LayersModel;
  /** The file's metadata_props (e.g. a value range written by alap's export). */
  metadata: Record<string, string>;
  opset: number;
  producer: string;
}

/** A constant (initialiser or Constant node) or an activation (symbolic NHWC tensor). */
type Value = { kind: 'const'; data: Float64Array; dims: number[] } | { kind: 'act'; t: tf.SymbolicTensor };

const MIN_OPSET = 13;
const T = onnx.TensorProto.DataType;

/** `name` (e.g. the file's base name) becomes the model's name, made safe for tfjs. */
export function fromOnnx(bytes: Uint8Array, name = 'imported'): ImportedOnnx {
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxImportError(`Not a readable ONNX file (${(e as Error).message}); it may be truncated or not ONNX at all`);
  }
  const graph = proto.graph;
  if (!graph || !graph.node?.length) throw new OnnxImportError('The ONNX file has no graph (no nodes): it may be truncated or not ONNX at all');
  const opset = proto.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const version = opset == null ? NaN : toNumber(opset);
  if (!(version >= MIN_OPSET)) throw new OnnxImportError(`The ONNX file uses opset ${opset ?? 'none'}; opset ${MIN_OPSET} or later is supported (torch.onnx.export opset_version=${MIN_OPSET}+)`);

  const values = new Map<string, Value>();
  for (const t of graph.initializer ?? []) values.set(t.name!, { kind: 'const', ...tensorData(t, `initialiser '${t.name}'`) });
  const inputs = (graph.input ?? []).filter((i) => !values.has(i.name!));
  if (inputs.length !== 1) throw new OnnxImportError(`The ONNX graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); one image input is supported`);
  const inDims = inputs[0].type?.tensorType?.shape?.dim ?? [];
  const channels = inDims[1]?.dimValue != null ? toNumber(inDims[1].dimValue) : NaN;
  if (inDims.length !== 4 || !(channels > 0)) throw new OnnxImportError(`Input '${inputs[0].name}' must be a rank-4 NCHW image tensor with a known channel count`);
  const fixed = (d: { dimValue?: unknown } | undefined) => (d?.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : null);
  const input = tf.input({ shape: [fixed(inDims[2]), fixed(inDims[3]), channels], name: 'input' });
  values.set(inputs[0].name!, { kind: 'act', t: input });

  // Layers built before a refusal hold variables: freed, so a refused file leaves nothing behind.
  const before = new Set(Object.keys(tf.engine().state.registeredVariables));
  try {
    return build();
  } catch (e) {
    for (const [k, v] of Object.entries(tf.engine().state.registeredVariables)) if (!before.has(k)) v.dispose();
    throw e;
  }

  function build(): ImportedOnnx {
    const used = new Set<string>(['input']);
    graph!.node!.forEach((n, index) => {
      const op = n.opType ?? '';
      if (n.domain && n.domain !== 'ai.onnx') throw new OnnxImportError(`Node '${n.name}' (${op}) is in domain '${n.domain}'; only standard ONNX ops are supported`);
      // tfjs names start with a letter or digit; torch's look like '/model/model.1/Conv'.
      const base = (n.name ?? '').replace(/[^A-Za-z0-9_]+/g, '_').slice(-60).replace(/^_+|_+$/g, '') || `${op}_${index}`;
      let layerName = base;
      for (let k = 2; used.has(layerName); k++) layerName = `${base}_${k}`;
      used.add(layerName);
      let out: Value;
      try {
        out = convertNode(new NodeReader(n, values), layerName);
      } catch (e) {
        // tfjs's own refusals (a weight shape that does not fit, ...) still name the node.
        if (e instanceof OnnxImportError) throw e;
        throw new OnnxImportError(`Node '${n.name || n.output?.[0]}' (${op}): ${(e as Error).message}`);
      }
      (n.output ?? []).slice(0, 1).forEach((o) => values.set(o, out));
    });

    const outputs = graph!.output ?? [];
    if (outputs.length !== 1) throw new OnnxImportError(`The ONNX graph has ${outputs.length} outputs; one image output is supported`);
    const result = values.get(outputs[0].name!);
    if (result?.kind !== 'act') throw new OnnxImportError(`Output '${outputs[0].name}' is not computed from the input`);
    const model = tf.model({ inputs: input, outputs: result.t, name: name.replace(/[^A-Za-z0-9_]/g, '_') || 'imported' });
    const metadata = Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
    return { model, metadata, opset: version, producer: `${proto.producerName ?? ''} ${proto.producerVersion ?? ''}`.trim() };
  }
}

/** Reads one node's inputs and attributes; every attribute must be looked at or it is refused. */
class NodeReader {
  private readonly seen = new Set<string>();
  constructor(
    readonly node: onnx.INodeProto,
    private readonly values: Map<string, Value>,
  ) {}

  get op(): string {
    return this.node.opType ?? '';
  }

  fail(what: string): never {
    throw new OnnxImportError(`Node '${this.node.name || this.node.output?.[0]}' (${this.op}): ${what}`);
  }

  /** The i-th input, or undefined when absent or given as ''. */
  input(i: number): Value | undefined {
    const name = this.node.input?.[i];
    if (!name) return undefined;
    const v = this.values.get(name);
    if (!v) this.fail(`input '${name}' is not produced by any earlier node or initialiser`);
    return v;
  }

  act(i = 0): tf.SymbolicTensor {
    const v = this.input(i);
    if (v?.kind !== 'act') this.fail(`input ${i} must be computed from the image input, not a constant`);
    return v.t;
  }

  constant(i: number, what: string): { data: Float64Array; dims: number[] } | undefined {
    const v = this.input(i);
    if (v && v.kind !== 'const') this.fail(`${what} (input ${i}) must be a constant; it is computed at run time`);
    return v;
  }

  attr(name: string): onnx.IAttributeProto | undefined {
    this.seen.add(name);
    return this.node.attribute?.find((a) => a.name === name);
  }

  int(name: string, fallback: number): number {
    const a = this.attr(name);
    return a ? toNumber(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.attr(name);
    return a ? (a.f ?? fallback) : fallback;
  }

  ints(name: string, fallback: number[]): number[] {
    const a = this.attr(name);
    return a?.ints?.length ? a.ints.map(toNumber) : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.attr(name);
    return a?.s?.length ? new TextDecoder().decode(a.s) : fallback;
  }

  /** Refuses attributes no mapping read (their meaning would be silently lost). */
  checkAttributes(): void {
    for (const a of this.node.attribute ?? []) if (!this.seen.has(a.name!)) this.fail(`attribute '${a.name}' is not supported`);
  }
}

function convertNode(r: NodeReader, name: string): Value {
  const out = convert(r, name);
  r.checkAttributes();
  return out;
}

function convert(r: NodeReader, name: string): Value {
  const act = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[] = r.act()) => ({ kind: 'act' as const, t: layer.apply(x) as tf.SymbolicTensor });
  switch (r.op) {
    case 'Identity':
    case 'Dropout':
      r.attr('seed');
      return r.input(0)!;
    case 'Cast': {
      // float16 exports keep their weights as float16 initialisers cast to float32 in the graph.
      if (r.int('to', 0) !== T.FLOAT) r.fail(`casting to ${T[r.int('to', 0)] ?? 'that type'} is not supported; only to float32`);
      r.attr('saturate');
      return r.input(0)!;
    }
    case 'Constant': {
      const a = r.attr('value');
      if (!a?.t) r.fail("only the 'value' form (a tensor) is supported");
      return { kind: 'const', ...tensorData(a.t, `Constant '${r.node.name}'`) };
    }
    case 'Conv':
      return conv(r, name);
    case 'ConvTranspose':
      return convTranspose(r, name);
    case 'BatchNormalization': {
      if (r.int('training_mode', 0) !== 0) r.fail('training_mode 1 is not supported (export the model in eval mode)');
      r.attr('momentum');
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => r.constant(i, ['scale', 'B', 'mean', 'var'][i - 1])!);
      const layer = tf.layers.batchNormalization({ axis: -1, epsilon: r.float('epsilon', 1e-5), name });
      const v = act(layer);
      setWeights(layer, [scale, bias, mean, variance].map((c) => tf.tensor1d(Float32Array.from(c.data))));
      return v;
    }
    case 'InstanceNormalization': {
      const [scale, bias] = [1, 2].map((i) => r.constant(i, ['scale', 'B'][i - 1])!);
      const layer = new InstanceNormalization({ epsilon: r.float('epsilon', 1e-5), name });
      const v = act(layer);
      setWeights(layer, [scale, bias].map((c) => tf.tensor1d(Float32Array.from(c.data))));
      return v;
    }
    case 'Pad':
      return pad(r, name);
    case 'Relu':
      return act(tf.layers.reLU({ name }));
    case 'LeakyRelu':
      return act(tf.layers.leakyReLU({ alpha: r.float('alpha', 0.01), name }));
    case 'Elu':
      return act(tf.layers.elu({ alpha: r.float('alpha', 1), name }));
    case 'Tanh':
    case 'Sigmoid':
      return act(tf.layers.activation({ activation: r.op === 'Tanh' ? 'tanh' : 'sigmoid', name }));
    case 'Clip':
      return clip(r, name);
    case 'PRelu':
      return prelu(r, name);
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Sum':
    case 'Max':
    case 'Min':
    case 'Mean':
      return elementwise(r, name);
    case 'Concat': {
      const axis = r.int('axis', 1);
      if (axis !== 1 && axis !== -3) r.fail(`concatenation along axis ${axis} is not supported; only the channel axis (1)`);
      const xs = (r.node.input ?? []).map((_, i) => r.act(i));
      return act(tf.layers.concatenate({ axis: -1, name }), xs);
    }
    case 'Resize':
      return resize(r, name);
    case 'MaxPool':
    case 'AveragePool':
      return pool(r, name);
    default:
      return r.fail(`op type '${r.op}' is not supported. Supported: Conv, ConvTranspose, Pad, InstanceNormalization, BatchNormalization, Relu, LeakyRelu, Elu, Tanh, Sigmoid, Clip, PRelu, Add, Sub, Mul, Div, Sum, Max, Min, Mean, Concat, Resize, MaxPool, AveragePool, Constant, Cast, Identity, Dropout`);
  }
}

/** Copies the values into the layer's variables and frees the temporaries. */
function setWeights(layer: tf.layers.Layer, weights: tf.Tensor[]): void {
  try {
    layer.setWeights(weights);
  } finally {
    tf.dispose(weights);
  }
}

/** Effective kernel extent with dilation. */
const extentOf = (k: number, d: number) => (k - 1) * d + 1;

function conv(r: NodeReader, name: string): Value {
  const x = r.act();
  const w = r.constant(1, 'the weight')!;
  const bias = r.constant(2, 'the bias');
  if (w.dims.length !== 4) r.fail(`a ${w.dims.length - 2}-D convolution is not supported; only 2-D`);
  const [outC, inPerGroup, kh, kw] = w.dims;
  const inC = x.shape[3]!;
  const group = r.int('group', 1);
  const strides = r.ints('strides', [1, 1]);
  const dilations = r.ints('dilations', [1, 1]);
  r.ints('kernel_shape', [kh, kw]);
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) r.fail('strides and dilations both above 1 are not supported by tfjs');
  const padding = convPadding(r, [kh, kw], strides, dilations);
  let layer: tf.layers.Layer;
  let kernel: Float32Array;
  if (group === 1) {
    if (inPerGroup !== inC) r.fail(`the weight expects ${inPerGroup} input channels, the input has ${inC}`);
    layer = tf.layers.conv2d({ filters: outC, kernelSize: [kh, kw], strides, dilationRate: dilations as [number, number], padding: padding.mode, useBias: !!bias, name });
    kernel = transpose(Float32Array.from(w.data), w.dims, [2, 3, 1, 0]);
  } else if (group === inC && inPerGroup === 1 && outC % inC === 0) {
    const m = outC / inC;
    layer = tf.layers.depthwiseConv2d({ kernelSize: [kh, kw], depthMultiplier: m, strides, dilationRate: dilations as [number, number], padding: padding.mode, useBias: !!bias, name });
    // [C * m, 1, kh, kw] -> [kh, kw, C, m].
    kernel = transpose(Float32Array.from(w.data), [inC, m, kh, kw], [2, 3, 0, 1]);
  } else {
    return r.fail(`attribute 'group' = ${group} is not supported (only 1, or one group per input channel)`);
  }
  const padded = padding.zeroPad ? (tf.layers.zeroPadding2d({ padding: padding.zeroPad, name: `${name}_pad` }).apply(x) as tf.SymbolicTensor) : x;
  const t = layer.apply(padded) as tf.SymbolicTensor;
  const weights = [tf.tensor(kernel, layer.getWeights()[0].shape)];
  if (bias) weights.push(tf.tensor1d(Float32Array.from(bias.data)));
  setWeights(layer, weights);
  return { kind: 'act', t };
}

/**
 * ONNX conv padding as tfjs 'same'/'valid', with explicit zero padding in front where TF's 'same'
 * would place the pads differently (e.g. torch's stride-2, pad-1 convs).
 */
function convPadding(r: NodeReader, kernel: number[], strides: number[], dilations: number[]): { mode: 'same' | 'valid'; zeroPad?: [[number, number], [number, number]] } {
  const auto = r.string('auto_pad', 'NOTSET');
  const extent = kernel.map((k, i) => extentOf(k, dilations[i]));
  const symmetricSame = strides.every((s) => s === 1) && extent.every((e) => e % 2 === 1);
  if (auto === 'SAME_UPPER' || (auto === 'SAME_LOWER' && symmetricSame)) return { mode: 'same' };
  if (auto === 'VALID') return { mode: 'valid' };
  if (auto !== 'NOTSET') r.fail(`attribute 'auto_pad' = ${auto} is not supported with these strides`);
  const [t, l, b, rr] = r.ints('pads', [0, 0, 0, 0]);
  if ([t, l, b, rr].every((p) => p === 0)) return { mode: 'valid' };
  if (symmetricSame && t === b && l === rr && t === (extent[0] - 1) / 2 && l === (extent[1] - 1) / 2) return { mode: 'same' };
  return { mode: 'valid', zeroPad: [[t, b], [l, rr]] };
}

function convTranspose(r: NodeReader, name: string): Value {
  const x = r.act();
  const w = r.constant(1, 'the weight')!;
  const bias = r.constant(2, 'the bias');
  if (w.dims.length !== 4) r.fail(`a ${w.dims.length - 2}-D transposed convolution is not supported; only 2-D`);
  const [inC, outC, kh, kw] = w.dims;
  if (r.int('group', 1) !== 1) r.fail(`attribute 'group' other than 1 is not supported`);
  if (r.ints('dilations', [1, 1]).some((d) => d !== 1)) r.fail(`attribute 'dilations' other than 1 is not supported`);
  if (r.attr('output_shape')) r.fail(`attribute 'output_shape' is not supported; give pads and output_padding`);
  r.ints('kernel_shape', [kh, kw]);
  const strides = r.ints('strides', [1, 1]);
  const auto = r.string('auto_pad', 'NOTSET');
  if (auto !== 'NOTSET' && auto !== 'VALID') r.fail(`attribute 'auto_pad' = ${auto} is not supported; explicit pads are`);
  if (kh < strides[0] || kw < strides[1]) r.fail('a kernel smaller than the stride is not supported');
  const [t, l, b, rr] = auto === 'VALID' ? [0, 0, 0, 0] : r.ints('pads', [0, 0, 0, 0]);
  const [oh, ow] = r.ints('output_padding', [0, 0]);
  // Output = (in - 1) * s + k - begin - end + output_padding. tfjs 'valid' gives (in - 1) * s + k;
  // 'same' gives in * s, cropping floor((k - s) / 2) at the start: used when the crops agree.
  const sameCrop = (k: number, s: number) => Math.floor((k - s) / 2);
  const [cropTop, cropBottom, cropLeft, cropRight] = [t, b - oh, l, rr - ow];
  if (cropBottom < 0 || cropRight < 0) r.fail('output_padding larger than the end padding is not supported');
  const same = cropTop === sameCrop(kh, strides[0]) && cropBottom === kh - strides[0] - cropTop && cropLeft === sameCrop(kw, strides[1]) && cropRight === kw - strides[1] - cropLeft;
  const layer = tf.layers.conv2dTranspose({ filters: outC, kernelSize: [kh, kw], strides, padding: same ? 'same' : 'valid', useBias: !!bias, name });
  let y = layer.apply(x) as tf.SymbolicTensor;
  const weights = [tf.tensor(transpose(Float32Array.from(w.data), [inC, outC, kh, kw], [2, 3, 1, 0]), [kh, kw, outC, inC])];
  if (bias) weights.push(tf.tensor1d(Float32Array.from(bias.data)));
  setWeights(layer, weights);
  if (!same && cropTop + cropBottom + cropLeft + cropRight > 0) {
    y = tf.layers.cropping2D({ cropping: [[cropTop, cropBottom], [cropLeft, cropRight]], name: `${name}_crop` }).apply(y) as tf.SymbolicTensor;
  }
  return { kind: 'act', t: y };
}

function pad(r: NodeReader, name: string): Value {
  const x = r.act();
  const mode = r.string('mode', 'constant');
  const pads = r.constant(1, 'pads');
  if (!pads) r.fail("pads must be given as the second input (opset 11+), not as an attribute");
  if (r.input(3)) r.fail('the axes input is not supported');
  const value = r.constant(2, 'constant_value')?.data[0] ?? 0;
  const [n0, c0, t, l, n1, c1, b, rr] = Array.from(pads.data);
  if (pads.data.length !== 8 || n0 || c0 || n1 || c1) r.fail(`only padding of the two spatial axes is supported, got pads [${Array.from(pads.data)}]`);
  if ([t, l, b, rr].some((p) => p < 0)) r.fail('negative pads (cropping) are not supported');
  if (mode === 'reflect') {
    if (t !== b || l !== rr) r.fail(`reflection padding must be the same on both sides of an axis, got [${t}, ${l}, ${b}, ${rr}]`);
    return { kind: 'act', t: new ReflectionPadding2D({ padding: [t, l], name }).apply(x) as tf.SymbolicTensor };
  }
  if (mode === 'constant') {
    if (value !== 0) r.fail(`constant padding with value ${value} is not supported; only 0`);
    return { kind: 'act', t: tf.layers.zeroPadding2d({ padding: [[t, b], [l, rr]], name }).apply(x) as tf.SymbolicTensor };
  }
  if (mode === 'edge') return { kind: 'act', t: new EdgePadding2D({ padding: [[t, b], [l, rr]], name }).apply(x) as tf.SymbolicTensor };
  return r.fail(`attribute 'mode' = '${mode}' is not supported (reflect, edge and constant 0 are)`);
}

/**
 * Element-wise ops: between activations a merge layer; with one constant operand (a scalar or one
 * value per channel) a 1x1 depthwise convolution computing x * scale + shift, which pruning follows.
 */
function elementwise(r: NodeReader, name: string): Value {
  const inputs = (r.node.input ?? []).map((_, i) => r.input(i)!);
  const acts = inputs.filter((v) => v.kind === 'act').map((v) => (v as { t: tf.SymbolicTensor }).t);
  const consts = inputs.filter((v) => v.kind === 'const') as { data: Float64Array; dims: number[] }[];
  if (!acts.length) r.fail('every input is a constant (constant folding is not supported)');
  if (!consts.length) {
    const merge = { Add: 'add', Sum: 'add', Sub: 'subtract', Mul: 'multiply', Max: 'maximum', Min: 'minimum', Mean: 'average' }[r.op] as 'add' | undefined;
    if (!merge) r.fail('dividing one activation by another is not supported');
    return { kind: 'act', t: tf.layers[merge]({ name }).apply(acts) as tf.SymbolicTensor };
  }
  if (acts.length !== 1 || consts.length !== 1 || inputs.length !== 2) r.fail('only two operands, one of them constant, are supported');
  const x = acts[0];
  const c = x.shape[3]!;
  const k = consts[0];
  const perChannel = k.data.length === 1 ? Array.from({ length: c }, () => k.data[0]) : k.data.length === c && k.dims.filter((d) => d !== 1).length === 1 && k.dims.indexOf(c) === k.dims.length - 3 ? Array.from(k.data) : null;
  if (!perChannel) r.fail(`a constant of shape [${k.dims}] is not supported; a scalar or one value per channel ([C, 1, 1]) is`);
  const constFirst = inputs[0].kind === 'const';
  let scale = perChannel.map(() => 1);
  let shift = perChannel.map(() => 0);
  if (r.op === 'Add' || r.op === 'Sum') shift = perChannel;
  else if (r.op === 'Sub') [scale, shift] = constFirst ? [scale.map(() => -1), perChannel] : [scale, perChannel.map((v) => -v)];
  else if (r.op === 'Mul') scale = perChannel;
  else if (r.op === 'Div' && !constFirst) scale = perChannel.map((v) => 1 / v);
  else r.fail(`'${r.op}' with a constant operand${constFirst ? ' first' : ''} is not supported`);
  return { kind: 'act', t: depthwise(x, name, 1, scale, shift) };
}

/** A fixed depthwise convolution (multiplier 1, 'valid'): kernel [k, k, C] row-major, optional bias. */
function depthwise(x: tf.SymbolicTensor, name: string, k: number, kernel: number[], bias: number[] | null): tf.SymbolicTensor {
  const c = x.shape[3]!;
  const layer = tf.layers.depthwiseConv2d({ kernelSize: k, depthMultiplier: 1, useBias: bias !== null, name });
  const t = layer.apply(x) as tf.SymbolicTensor;
  setWeights(layer, [tf.tensor(Float32Array.from(kernel), [k, k, c, 1]), ...(bias ? [tf.tensor1d(Float32Array.from(bias))] : [])]);
  return t;
}

/**
 * Clip(min, max): ReLU / ReLU6 when min is 0; otherwise a shifted capped ReLU, min + relu(x - min)
 * capped at max - min (or, without a min, max - relu(max - x)), shifts as 1x1 depthwise layers.
 */
function clip(r: NodeReader, name: string): Value {
  const x = r.act();
  const [lo, hi] = [1, 2].map((i) => r.constant(i, i === 1 ? 'min' : 'max')?.data[0]);
  if (lo !== undefined && hi !== undefined && !(hi > lo)) r.fail(`min ${lo} must be below max ${hi}`);
  const c = x.shape[3]!;
  const affine = (t: tf.SymbolicTensor, suffix: string, scale: number, shift: number) => depthwise(t, `${name}_${suffix}`, 1, Array.from({ length: c }, () => scale), Array.from({ length: c }, () => shift));
  if (lo === 0) return { kind: 'act', t: tf.layers.reLU({ name, ...(hi !== undefined && { maxValue: hi }) }).apply(x) as tf.SymbolicTensor };
  if (lo !== undefined) {
    const capped = tf.layers.reLU({ name: `${name}_relu`, ...(hi !== undefined && { maxValue: hi - lo }) }).apply(affine(x, 'shift', 1, -lo)) as tf.SymbolicTensor;
    return { kind: 'act', t: affine(capped, 'unshift', 1, lo) };
  }
  if (hi === undefined) return { kind: 'act', t: x };
  const below = tf.layers.reLU({ name: `${name}_relu` }).apply(affine(x, 'flip', -1, hi)) as tf.SymbolicTensor;
  return { kind: 'act', t: affine(below, 'unflip', -1, hi) };
}

/**
 * PRelu with one shared slope is LeakyReLU; with a slope per channel it is built as
 * relu(x) - a * relu(-x) from layers pruning understands (ReLU, 1x1 depthwise scales, Add).
 */
function prelu(r: NodeReader, name: string): Value {
  const x = r.act();
  const slope = r.constant(1, 'slope')!;
  const c = x.shape[3]!;
  if (slope.data.every((v) => v === slope.data[0])) return { kind: 'act', t: tf.layers.leakyReLU({ alpha: slope.data[0], name }).apply(x) as tf.SymbolicTensor };
  if (slope.data.length !== c) r.fail(`a slope of shape [${slope.dims}] is not supported; one value, or one per channel, is`);
  const positive = tf.layers.reLU({ name: `${name}_pos` }).apply(x) as tf.SymbolicTensor;
  const negated = depthwise(x, `${name}_neg`, 1, Array.from({ length: c }, () => -1), null);
  const negative = tf.layers.reLU({ name: `${name}_negrelu` }).apply(negated) as tf.SymbolicTensor;
  const scaled = depthwise(negative, `${name}_slope`, 1, Array.from(slope.data, (a) => -a), null);
  return { kind: 'act', t: tf.layers.add({ name }).apply([positive, scaled]) as tf.SymbolicTensor };
}

function resize(r: NodeReader, name: string): Value {
  const x = r.act();
  const scales = r.constant(2, 'scales');
  if (r.input(3)) r.fail("output 'sizes' are not supported; give 'scales'");
  if (!scales || scales.data.length !== 4) r.fail("'scales' must be a constant of 4 values");
  const [sn, sc, sh, sw] = Array.from(scales.data);
  if (sn !== 1 || sc !== 1 || !Number.isInteger(sh) || !Number.isInteger(sw) || sh < 1 || sw < 1) r.fail(`only whole-number spatial upscaling is supported, got scales [${Array.from(scales.data)}]`);
  const mode = r.string('mode', 'nearest');
  const coords = r.string('coordinate_transformation_mode', 'half_pixel');
  const nearestMode = r.string('nearest_mode', 'round_prefer_floor');
  for (const a of ['cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'antialias', 'keep_aspect_ratio_policy', 'axes']) r.attr(a);
  if (mode === 'nearest') {
    // With a whole-number scale, half-pixel centres pick the same source pixel under every
    // rounding mode, and asymmetric coordinates do under floor (and under round-down ties at 2x).
    const exact = coords === 'half_pixel' || coords === 'pytorch_half_pixel' || (coords === 'asymmetric' && (nearestMode === 'floor' || (nearestMode === 'round_prefer_floor' && sh <= 2 && sw <= 2)));
    if (!exact) r.fail(`nearest resizing with coordinate_transformation_mode '${coords}' and nearest_mode '${nearestMode}' has no exact tfjs equivalent`);
    return { kind: 'act', t: tf.layers.upSampling2d({ size: [sh, sw], interpolation: 'nearest', name }).apply(x) as tf.SymbolicTensor };
  }
  if (mode === 'linear' && (coords === 'half_pixel' || coords === 'pytorch_half_pixel') && sh === 2 && sw === 2) {
    // Bilinear 2x with half-pixel centres (torch's align_corners=False) is nearest 2x followed by
    // a [1/4, 1/2, 1/4] filter on each axis, the border repeated (on a nearest-upsampled image
    // reflecting one pixel repeats it).
    const up = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name }).apply(x) as tf.SymbolicTensor;
    const padded = new ReflectionPadding2D({ padding: [1, 1], name: `${name}_edge` }).apply(up) as tf.SymbolicTensor;
    const c = x.shape[3]!;
    return { kind: 'act', t: depthwise(padded, `${name}_filter`, 3, Array.from({ length: 9 * c }, (_, i) => [0.25, 0.5, 0.25][Math.floor(i / (3 * c))] * [0.25, 0.5, 0.25][Math.floor(i / c) % 3]), null) };
  }
  if (mode === 'linear' && coords === 'asymmetric') {
    return { kind: 'act', t: tf.layers.upSampling2d({ size: [sh, sw], interpolation: 'bilinear', name }).apply(x) as tf.SymbolicTensor };
  }
  return r.fail(`'${mode}' resizing with coordinate_transformation_mode '${coords}' is not supported (tfjs upsampling is nearest, or linear with asymmetric coordinates)`);
}

function pool(r: NodeReader, name: string): Value {
  const x = r.act();
  const kernel = r.ints('kernel_shape', []);
  const strides = r.ints('strides', [1, 1]);
  if (kernel.length !== 2) r.fail('only 2-D pooling is supported');
  if (r.int('ceil_mode', 0) !== 0) r.fail("attribute 'ceil_mode' = 1 is not supported");
  if (r.ints('dilations', [1, 1]).some((d) => d !== 1)) r.fail("attribute 'dilations' other than 1 is not supported");
  if (r.int('storage_order', 0) !== 0) r.fail("attribute 'storage_order' = 1 is not supported");
  const max = r.op === 'MaxPool';
  const includePad = !max && r.int('count_include_pad', 0) === 1;
  const auto = r.string('auto_pad', 'NOTSET');
  const [t, l, b, rr] = r.ints('pads', [0, 0, 0, 0]);
  const symmetricSame = strides.every((s) => s === 1) && kernel.every((k) => k % 2 === 1) && t === b && l === rr && t === (kernel[0] - 1) / 2 && l === (kernel[1] - 1) / 2;
  const layer = (padding: 'same' | 'valid') => (max ? tf.layers.maxPooling2d : tf.layers.averagePooling2d)({ poolSize: kernel as [number, number], strides: strides as [number, number], padding, name });
  if (auto === 'VALID' || (auto === 'NOTSET' && t + l + b + rr === 0)) return { kind: 'act', t: layer('valid').apply(x) as tf.SymbolicTensor };
  // TF's 'same' pooling ignores the padded positions, as ONNX max pooling and count_include_pad=0 do.
  if (!includePad && (auto === 'SAME_UPPER' || (auto === 'NOTSET' && symmetricSame))) return { kind: 'act', t: layer('same').apply(x) as tf.SymbolicTensor };
  if (includePad && auto === 'NOTSET') {
    const padded = tf.layers.zeroPadding2d({ padding: [[t, b], [l, rr]], name: `${name}_pad` }).apply(x) as tf.SymbolicTensor;
    return { kind: 'act', t: layer('valid').apply(padded) as tf.SymbolicTensor };
  }
  return r.fail(`padding ${auto === 'NOTSET' ? `[${[t, l, b, rr]}]` : auto} has no exact tfjs equivalent here`);
}

/** A tensor's values (as float64, enough for int64 shapes and float weights) and dims. */
function tensorData(t: onnx.ITensorProto, what: string): { data: Float64Array; dims: number[] } {
  const dims = (t.dims ?? []).map(toNumber);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new OnnxImportError(`${what} has an invalid shape [${dims}]`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new OnnxImportError(`${what} is stored in an external data file; save the model with its weights inside the .onnx file`);
  const raw = t.rawData?.length ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const width: Partial<Record<number, number>> = { [T.FLOAT]: 4, [T.FLOAT16]: 2, [T.DOUBLE]: 8, [T.INT64]: 8, [T.INT32]: 4 };
  const size = width[t.dataType ?? 0];
  if (!size) throw new OnnxImportError(`${what} has data type ${T[t.dataType ?? 0] ?? t.dataType}; float32, float16, float64, int32 and int64 are supported`);
  if (view) {
    if (raw!.byteLength !== n * size) throw new OnnxImportError(`${what} holds ${raw!.byteLength} bytes for shape [${dims}]; the file is truncated or corrupt`);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      out[i] =
        t.dataType === T.FLOAT ? view.getFloat32(o, true)
        : t.dataType === T.FLOAT16 ? fromFloat16Bits(view.getUint16(o, true))
        : t.dataType === T.DOUBLE ? view.getFloat64(o, true)
        : t.dataType === T.INT32 ? view.getInt32(o, true)
        : Number(view.getBigInt64(o, true));
    }
    return { data: out, dims };
  }
  const list: ArrayLike<unknown> =
    t.dataType === T.FLOAT ? (t.floatData ?? [])
    : t.dataType === T.DOUBLE ? (t.doubleData ?? [])
    : t.dataType === T.INT64 ? (t.int64Data ?? [])
    : (t.int32Data ?? []);
  if (list.length !== n) throw new OnnxImportError(`${what} holds ${list.length} values for shape [${dims}]; the file is truncated or corrupt`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = t.dataType === T.FLOAT16 ? fromFloat16Bits(toNumber(list[i])) : toNumber(list[i]);
  return { data: out, dims };
}

/** protobufjs reads int64 fields as Long objects (or numbers without the long package). */
function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : Number(String(v));
}
