/**
 * Export of a Layers model to the TensorFlow.js graph-model format (a TF GraphDef as JSON plus a
 * weights manifest), which plain `tf.loadGraphModel` runs without this repo's custom layer classes.
 * Every layer of channel-graph.ts's SUPPORTED_LAYERS becomes standard TF ops: ReflectionPadding2D is
 * MirrorPad, InstanceNormalization is Mean / SquaredDifference / Rsqrt arithmetic. The input's batch
 * and spatial dims are -1 and every shape the graph needs (transposed-conv output, up-sampling size)
 * is computed from the runtime input shape, so one export runs at any size the architecture allows.
 * Attribute names and encodings are those tfjs-converter writes and its op mappers read
 * (@tensorflow/tfjs-converter/dist/operations/op_list).
 */
import * as tf from '@tensorflow/tfjs';
import { UnsupportedModelError, type AnyLayer } from '../graph/channel-graph';
import { concatBytes, type ModelFiles } from './model-files';
import { toFloat16Bits } from './quantize';

export interface GraphModelExportOptions {
  /** Precision of the float weights in the manifest; float16 halves the file (tfjs dequantises on load). */
  weights?: 'float32' | 'float16';
}

/** A TF AttrValue in protobuf JSON form: int64 as decimal strings, strings base64. */
interface AttrValue {
  type?: string;
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  list?: { i?: string[]; s?: string[] };
  shape?: ShapeProto;
  tensor?: { dtype: string; tensorShape: ShapeProto };
}
type Attrs = Record<string, AttrValue>;
interface ShapeProto {
  dim: { size: string }[];
}
interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Attrs;
}
interface TensorInfo {
  name: string;
  dtype: string;
  tensorShape: ShapeProto;
}

const FLOAT: AttrValue = { type: 'DT_FLOAT' };
const INT32: AttrValue = { type: 'DT_INT32' };
const NHWC = str('NHWC');
/** As tfjs-converter writes it (the manifest type lacks original_dtype, tfjs ignores it). */
const FLOAT16 = { dtype: 'float16', original_dtype: 'float32' } as const;

function str(s: string): AttrValue {
  return { s: btoa(s) };
}
function int(i: number): AttrValue {
  return { i: String(i) };
}
function ints(v: number[]): AttrValue {
  return { list: { i: v.map(String) } };
}
function shapeProto(dims: number[]): ShapeProto {
  return { dim: dims.map((d) => ({ size: String(d) })) };
}

/** Collects GraphDef nodes and the weights of their Const nodes. */
class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly specs: tf.io.WeightsManifestEntry[] = [];
  private readonly data: Uint8Array[] = [];
  private readonly taken = new Set<string>();

  constructor(private readonly float16: boolean) {}

  /** Adds a node under `name` (suffixed _1, _2, ... when taken); returns its name. */
  op(name: string, op: string, input: string[], attr: Attrs): string {
    let unique = name;
    for (let k = 1; this.taken.has(unique); k++) unique = `${name}_${k}`;
    this.taken.add(unique);
    this.nodes.push({ name: unique, op, input, attr });
    return unique;
  }

  /** A Const node; tfjs reads its value from the weights manifest entry of the same name. */
  constant(name: string, values: Float32Array | Int32Array, shape: number[]): string {
    const isInt = values instanceof Int32Array;
    const type = isInt ? 'DT_INT32' : 'DT_FLOAT';
    const node = this.op(name, 'Const', [], { dtype: { type }, value: { tensor: { dtype: type, tensorShape: shapeProto(shape) } } });
    if (!isInt && this.float16) {
      this.specs.push({ name: node, shape, dtype: 'float32', quantization: FLOAT16 });
      this.data.push(new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer));
    } else {
      this.specs.push({ name: node, shape, dtype: isInt ? 'int32' : 'float32' });
      // A copy: `values` may be a view into a variable's storage.
      this.data.push(new Uint8Array(values.slice().buffer));
    }
    return node;
  }

  intConstant(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, Int32Array.from(values), shape);
  }

  scalar(name: string, value: number): string {
    return this.constant(name, Float32Array.of(value), []);
  }

  weightData(): ArrayBuffer {
    return concatBytes(this.data).buffer as ArrayBuffer;
  }
}

/**
 * The model as graph-model artifacts: `tf.loadGraphModel(tf.io.fromMemory(artifacts))` runs it
 * (predict / execute with the input layers' names). Throws UnsupportedModelError naming the layer,
 * its class and the config field for anything it cannot express.
 */
export function toGraphModel(model: tf.LayersModel, options: GraphModelExportOptions = {}): tf.io.ModelArtifacts {
  const g = new GraphBuilder(options.weights === 'float16');
  const names = new Map<tf.layers.Layer, string>();
  const signature = { inputs: {} as Record<string, TensorInfo>, outputs: {} as Record<string, TensorInfo> };
  const tensorInfo = (name: string, channels: number | null): TensorInfo => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: shapeProto([-1, -1, -1, channels ?? -1]) });

  for (const input of model.inputs) {
    const layer = input.sourceLayer;
    if (input.shape.length !== 4) {
      throw new UnsupportedModelError(layer.name, layer.getClassName(), `has a rank-${input.shape.length} input; only NHWC images are exported`);
    }
    const channels = input.shape[3];
    const name = g.op(layer.name, 'Placeholder', [], { dtype: FLOAT, shape: { shape: shapeProto([-1, -1, -1, channels ?? -1]) } });
    names.set(layer, name);
    signature.inputs[name] = tensorInfo(name, channels);
  }
  // model.layers is in topological order (tfjs sorts it by depth), so every inbound layer is done first.
  for (const layer of model.layers as AnyLayer[]) {
    if (names.has(layer)) continue;
    if (layer.inboundNodes.length !== 1) {
      throw new UnsupportedModelError(layer.name, layer.getClassName(), 'is applied more than once (shared layer)');
    }
    names.set(layer, convertLayer(g, layer, layer.inboundNodes[0].inboundLayers.map((l) => names.get(l)!)));
  }
  model.outputs.forEach((out, i) => {
    const name = g.op(model.outputs.length === 1 ? 'output' : `output_${i}`, 'Identity', [names.get(out.sourceLayer)!], { T: FLOAT });
    signature.outputs[name] = tensorInfo(name, out.shape[3] ?? null);
  });

  return {
    format: 'graph-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: 'alap-studio',
    modelTopology: { node: g.nodes, library: {}, versions: {} },
    weightSpecs: g.specs,
    weightData: g.weightData(),
    signature,
  };
}

/** The export as files `tf.loadGraphModel` reads: model.json and one weight shard. */
export function toGraphModelFiles(model: tf.LayersModel, options: GraphModelExportOptions = {}, shardName = 'weights.bin'): ModelFiles {
  const a = toGraphModel(model, options);
  const modelJson = JSON.stringify({
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    modelTopology: a.modelTopology,
    signature: a.signature,
    weightsManifest: [{ paths: [shardName], weights: a.weightSpecs }],
  });
  return { modelJson, shards: new Map([[shardName, new Uint8Array(a.weightData as ArrayBuffer)]]) };
}

/** Activations tfjs-converter's fused convolutions apply (fused_ops[1]), by Keras name. */
const FUSED_ACTIVATIONS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu' };

/** The ops of one layer after its inputs `xs`; returns the node holding its output. */
function convertLayer(g: GraphBuilder, l: AnyLayer, xs: string[]): string {
  const cls = l.getClassName();
  const c = l.getConfig();
  const x = xs[0];
  const refuse = (field: string, why: string): never => {
    throw new UnsupportedModelError(l.name, cls, `has ${field} ${why}, which the graph-model export cannot express`);
  };
  const node = (op: string, inputs: string[], attr: Attrs = { T: FLOAT }) => g.op(`${l.name}/${op}`, op, inputs, attr);
  const weight = (short: string) => {
    const v = l.weights.find((w) => w.originalName.split('/').pop() === short)!.read();
    return g.constant(`${l.name}/${short}`, v.dataSync() as Float32Array, v.shape);
  };
  const activation = (y: string, name: string) => applyActivation(g, l, y, name, refuse);
  /** The runtime shape of x, as an int32 [4] node. */
  const shapeOfX = () => node('Shape', [x], { T: FLOAT, out_type: INT32 });

  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') refuse('dataFormat', `'${c.dataFormat}' (only channelsLast)`);

  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const strides = c.strides as number[];
      const dilations = c.dilationRate as number[];
      const dilated = dilations.some((d) => d !== 1);
      if (cls === 'DepthwiseConv2D' && dilated) refuse('dilationRate', `${JSON.stringify(dilations)} (tfjs-layers' DepthwiseConv2D ignores it, so no graph would match the model)`);
      if (dilated && strides.some((s) => s !== 1)) refuse('dilationRate', `${JSON.stringify(dilations)} with strides ${JSON.stringify(strides)} (tfjs convolutions need one of them to be 1)`);
      const plain = cls === 'Conv2D' ? 'Conv2D' : 'DepthwiseConv2dNative';
      const fusedOp = cls === 'Conv2D' ? '_FusedConv2D' : 'FusedDepthwiseConv2dNative';
      const filter = weight(cls === 'Conv2D' ? 'kernel' : 'depthwise_kernel');
      const attr: Attrs = { T: FLOAT, strides: ints([1, ...strides, 1]), padding: str((c.padding as string).toUpperCase()), data_format: NHWC, dilations: ints([1, ...dilations, 1]) };
      const act = c.activation as string;
      if (!c.useBias) return activation(node(plain, [x, filter], attr), act);
      const fused = FUSED_ACTIVATIONS[act];
      const fusedOps = fused ? ['BiasAdd', fused] : ['BiasAdd'];
      const y = node(fusedOp, [x, filter, weight('bias')], { ...attr, num_args: int(1), fused_ops: { list: { s: fusedOps.map(btoa) } } });
      return fused ? y : activation(y, act);
    }
    case 'Conv2DTranspose': {
      const [kh, kw] = c.kernelSize as number[];
      const [sh, sw] = c.strides as number[];
      const padding = c.padding as string;
      // Output size as tfjs-layers computes it (deconvLength): in * stride, plus max(k - stride, 0) when 'valid'.
      const extra = (k: number, s: number) => (padding === 'valid' ? Math.max(k - s, 0) : 0);
      const scaled = node('Mul', [shapeOfX(), g.intConstant(`${l.name}/shape_scale`, [1, sh, sw, 0])], { T: INT32 });
      const outShape = node('AddV2', [scaled, g.intConstant(`${l.name}/shape_offset`, [0, extra(kh, sh), extra(kw, sw), c.filters as number])], { T: INT32 });
      let y = node('Conv2DBackpropInput', [outShape, weight('kernel'), x], { T: FLOAT, strides: ints([1, sh, sw, 1]), padding: str(padding.toUpperCase()), data_format: NHWC, dilations: ints([1, 1, 1, 1]) });
      if (c.useBias) y = node('BiasAdd', [y, weight('bias')], { T: FLOAT, data_format: NHWC });
      return activation(y, c.activation as string);
    }
    case 'BatchNormalization': {
      if (c.axis !== -1 && c.axis !== 3) refuse('axis', `${JSON.stringify(c.axis)} (only the channel axis)`);
      const n = l.weights.find((w) => w.originalName.endsWith('/moving_mean'))!.shape[0]!;
      const scale = c.scale ? weight('gamma') : g.constant(`${l.name}/gamma`, new Float32Array(n).fill(1), [n]);
      const offset = c.center ? weight('beta') : g.constant(`${l.name}/beta`, new Float32Array(n), [n]);
      // Inference with the moving statistics: the same tf.batchNorm the layer calls.
      return node('FusedBatchNormV3', [x, scale, offset, weight('moving_mean'), weight('moving_variance')], {
        T: FLOAT,
        U: FLOAT,
        epsilon: { f: c.epsilon as number },
        data_format: NHWC,
        is_training: { b: false },
      });
    }
    case 'InstanceNormalization': {
      // As the layer computes it: scale = rsqrt(var + eps) * gamma, y = x * scale + (beta - mean * scale).
      const axes = g.intConstant(`${l.name}/axes`, [1, 2]);
      const mean = (t: string) => node('Mean', [t, axes], { T: FLOAT, Tidx: INT32, keep_dims: { b: true } });
      const mu = mean(x);
      const variance = mean(node('SquaredDifference', [x, mu]));
      let scale = node('Rsqrt', [node('AddV2', [variance, g.scalar(`${l.name}/epsilon`, c.epsilon as number)])]);
      if (c.scale) scale = node('Mul', [scale, weight('gamma')]);
      const centre = node('Mul', [mu, scale]);
      const shift = c.center ? node('Sub', [weight('beta'), centre]) : node('Neg', [centre]);
      return node('AddV2', [node('Mul', [x, scale]), shift]);
    }
    case 'ReflectionPadding2D': {
      const [ph, pw] = c.padding as number[];
      return node('MirrorPad', [x, g.intConstant(`${l.name}/paddings`, [0, 0, ph, ph, pw, pw, 0, 0], [4, 2])], { T: FLOAT, Tpaddings: INT32, mode: str('REFLECT') });
    }
    case 'EdgePadding2D': {
      // Repeating the border p times is p one-pixel SYMMETRIC mirror pads (each copies the edge).
      const [[t, b], [lt, r]] = c.padding as number[][];
      let y = x;
      for (let i = 0; i < Math.max(t, b, lt, r); i++) {
        const one = (p: number) => (i < p ? 1 : 0);
        y = node('MirrorPad', [y, g.intConstant(`${l.name}/paddings`, [0, 0, one(t), one(b), one(lt), one(r), 0, 0], [4, 2])], { T: FLOAT, Tpaddings: INT32, mode: str('SYMMETRIC') });
      }
      return y;
    }
    case 'ZeroPadding2D': {
      const [[t, b], [lt, r]] = c.padding as number[][];
      return node('Pad', [x, g.intConstant(`${l.name}/paddings`, [0, 0, t, b, lt, r, 0, 0], [4, 2])], { T: FLOAT, Tpaddings: INT32 });
    }
    case 'Cropping2D': {
      const [[t, b], [lt, r]] = c.cropping as number[][];
      // Ends count from the back (-b, -r); an end of 0 means "to the end", so its end_mask bit is set.
      const endMask = 0b1001 | (b === 0 ? 0b0010 : 0) | (r === 0 ? 0b0100 : 0);
      return node('StridedSlice', [x, g.intConstant(`${l.name}/begin`, [0, t, lt, 0]), g.intConstant(`${l.name}/end`, [0, -b, -r, 0]), g.intConstant(`${l.name}/strides`, [1, 1, 1, 1])], {
        T: FLOAT,
        Index: INT32,
        begin_mask: int(0b1001),
        end_mask: int(endMask),
      });
    }
    case 'UpSampling2D': {
      const hw = node('StridedSlice', [shapeOfX(), g.intConstant(`${l.name}/begin`, [1]), g.intConstant(`${l.name}/end`, [3]), g.intConstant(`${l.name}/strides`, [1])], { T: INT32, Index: INT32 });
      const size = node('Mul', [hw, g.intConstant(`${l.name}/size`, c.size as number[])], { T: INT32 });
      // tfjs-layers resizes with the op defaults: neither aligned corners nor half-pixel centres.
      const op = c.interpolation === 'bilinear' ? 'ResizeBilinear' : 'ResizeNearestNeighbor';
      return node(op, [x, size], { T: FLOAT, align_corners: { b: false }, half_pixel_centers: { b: false } });
    }
    case 'Activation':
      return activation(x, c.activation as string);
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      if (max == null) return node('Relu', [x]);
      return max === 6 ? node('Relu6', [x]) : node('Minimum', [node('Relu', [x]), g.scalar(`${l.name}/max_value`, max)]);
    }
    case 'LeakyReLU':
      return node('LeakyRelu', [x], { T: FLOAT, alpha: { f: c.alpha as number } });
    case 'ELU':
      if (c.alpha !== 1) refuse('alpha', `${c.alpha} (TF's Elu has alpha 1, and tfjs-layers runs no other)`);
      return node('Elu', [x]);
    case 'Dropout':
    case 'SpatialDropout2D':
      return x; // identity at inference
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AvgPool', [x], {
        T: FLOAT,
        ksize: ints([1, ...(c.poolSize as number[]), 1]),
        strides: ints([1, ...(c.strides as number[]), 1]),
        padding: str((c.padding as string).toUpperCase()),
        data_format: NHWC,
      });
    case 'Add':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum':
    case 'Average': {
      // Folded left to right, as tfjs-layers does; Average then multiplies by 1/n.
      const op = { Add: 'AddV2', Multiply: 'Mul', Maximum: 'Maximum', Minimum: 'Minimum', Average: 'AddV2' }[cls];
      const folded = xs.slice(1).reduce((a, b) => node(op, [a, b]), x);
      return cls === 'Average' ? node('Mul', [folded, g.scalar(`${l.name}/inverse_count`, 1 / xs.length)]) : folded;
    }
    case 'Subtract':
      return node('Sub', [x, xs[1]]);
    case 'Concatenate': {
      const axis = c.axis as number;
      return node('ConcatV2', [...xs, g.constant(`${l.name}/axis`, Int32Array.of(axis < 0 ? axis + 4 : axis), [])], { T: FLOAT, N: int(xs.length), Tidx: INT32 });
    }
    default:
      throw new UnsupportedModelError(l.name, cls);
  }
}

/** A Keras activation, by the name tfjs-layers serialises it under, as ops after `x`. */
function applyActivation(g: GraphBuilder, l: AnyLayer, x: string, name: string, refuse: (field: string, why: string) => never): string {
  const node = (op: string, ...inputs: string[]) => g.op(`${l.name}/${op}`, op, inputs, { T: FLOAT });
  const k = (v: number) => g.scalar(`${l.name}/const`, v);
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return node('Relu', x);
    case 'relu6':
      return node('Relu6', x);
    case 'elu':
      return node('Elu', x);
    case 'selu':
      return node('Selu', x);
    case 'sigmoid':
      return node('Sigmoid', x);
    case 'tanh':
      return node('Tanh', x);
    case 'softplus':
      return node('Softplus', x);
    case 'softmax':
      return node('Softmax', x);
    case 'logSoftmax':
      return node('LogSoftmax', x);
    case 'softsign': // x / (|x| + 1)
      return node('RealDiv', x, node('AddV2', node('Abs', x), k(1)));
    case 'hardSigmoid': // clip(0.2 x + 0.5, 0, 1)
      return node('ClipByValue', node('AddV2', node('Mul', x, k(0.2)), k(0.5)), k(0), k(1));
    case 'swish': // x * sigmoid(x)
      return node('Mul', node('Sigmoid', x), x);
    case 'mish': // x * tanh(softplus(x))
      return node('Mul', x, node('Tanh', node('Softplus', x)));
    case 'gelu': // x * 0.5 (1 + erf(x / sqrt 2))
      return node('Mul', x, node('Mul', k(0.5), node('AddV2', k(1), node('Erf', node('RealDiv', x, k(Math.SQRT2))))));
    case 'gelu_new': // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
      return node('Mul', k(0.5), node('Mul', x, node('AddV2', k(1), node('Tanh', node('Mul', k(Math.sqrt(2 / Math.PI)), node('AddV2', x, node('Mul', k(0.044715), node('Pow', x, k(3)))))))));
    default:
      return refuse('activation', `'${name}'`);
  }
}
