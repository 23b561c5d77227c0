/**
 * ONNX export of a Layers model made of the layers alap can prune (channel-graph.ts SUPPORTED_LAYERS):
 * opset 17, NCHW input and output with dynamic batch and spatial dims, weights float32 or float16
 * (float16 initialisers are cast to float32 inside the graph, so the model still takes float32).
 * Every padding is written out as explicit pads where TF's 'same' and ONNX's could place them
 * differently, so onnxruntime reproduces tfjs to float precision.
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from './onnx-proto';
import { SUPPORTED_LAYERS, topoOrder, UnsupportedModelError } from '../graph/channel-graph';
import { toFloat16Bits } from './quantize';

export interface OnnxExportOptions {
  /** Initialiser precision; float16 halves the file. */
  weights?: 'float32' | 'float16';
  /** Written into the model's metadata (e.g. the value range the model expects). */
  metadata?: Record<string, string>;
}

type Attribute = number | number[] | string;

const OPSET = 17;

export function toOnnx(model: tf.LayersModel, o: OnnxExportOptions = {}): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error(`ONNX export takes a model with one input and one output; '${model.name}' has ${model.inputs.length} and ${model.outputs.length}`);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let counter = 0;
  const fresh = (hint: string) => `${hint}_${counter++}`;
  // Nodes are named after the layer they come from: its first node takes the layer's name.
  let layerName = '';
  const nodeName = () => {
    const name = layerName && !usedNames.has(layerName) ? layerName : fresh(layerName || 'node');
    usedNames.add(name);
    return name;
  };
  const usedNames = new Set<string>();
  const node = (opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, output = fresh(`${layerName || opType}_out`)): string => {
    nodes.push({ opType, input: inputs, output: [output], name: nodeName(), attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return output;
  };
  const constant = (hint: string, data: Float32Array | number[], dims: number[], type: 'float' | 'int64' = 'float'): string => {
    const name = fresh(hint);
    if (type === 'int64') {
      initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: Array.from(data) });
      return name;
    }
    const values = Float32Array.from(data);
    if (o.weights !== 'float16') {
      initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(values.buffer) });
      return name;
    }
    initializers.push({ name: `${name}_fp16`, dims, dataType: onnx.TensorProto.DataType.FLOAT16, rawData: new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer) });
    return node('Cast', [`${name}_fp16`], { to: onnx.TensorProto.DataType.FLOAT }, name);
  };

  const order = topoOrder(model);
  const names = new Map<tf.layers.Layer, string>();
  const inputOf = (l: (typeof order)[number]) => (l.inboundNodes[0]?.inboundLayers ?? []).map((p) => names.get(p)!);
  for (const layer of order) {
    layerName = layer.name;
    const cls = layer.getClassName();
    if (!SUPPORTED_LAYERS.includes(cls)) throw new UnsupportedModelError(layer.name, cls);
    const c = layer.getConfig();
    const [x] = inputOf(layer);
    const w = () => layer.getWeights().map((t) => t.dataSync() as Float32Array);
    const refuse = (field: string, why: string) => {
      throw new Error(`ONNX export: layer '${layer.name}' (${cls}): ${field} ${why}`);
    };
    let out: string;
    switch (cls) {
      case 'InputLayer':
        out = 'input';
        break;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const [kh, kw] = c.kernelSize as number[];
        const strides = c.strides as number[];
        const dilations = (c.dilationRate as number[]) ?? [1, 1];
        const [kernel, bias] = w();
        const inC = (layer.input as tf.SymbolicTensor).shape[3]!;
        let weight: Float32Array;
        let outC: number;
        let group = 1;
        if (cls === 'Conv2D') {
          outC = c.filters as number;
          weight = transpose(kernel, [kh, kw, inC, outC], [3, 2, 0, 1]);
        } else {
          const m = c.depthMultiplier as number;
          outC = inC * m;
          group = inC;
          // [kh, kw, C, m] -> [C * m, 1, kh, kw]: output channel i * m + j comes from input channel i.
          weight = transpose(kernel, [kh, kw, inC, m], [2, 3, 0, 1]);
        }
        const pads = convPads(c.padding as string, [kh, kw], strides, dilations);
        const inputs = [x, constant(`${layer.name}_W`, weight, [outC, cls === 'Conv2D' ? inC : 1, kh, kw])];
        if (c.useBias) inputs.push(constant(`${layer.name}_B`, bias, [outC]));
        out = node('Conv', inputs, { kernel_shape: [kh, kw], strides, dilations, group, ...pads });
        out = activation(out, c.activation as string, refuse);
        break;
      }
      case 'Conv2DTranspose': {
        const [kh, kw] = c.kernelSize as number[];
        const strides = c.strides as number[];
        if (((c.dilationRate as number[]) ?? [1, 1]).some((d) => d !== 1)) refuse('dilationRate', 'other than 1 is not exported');
        if (kh < strides[0] || kw < strides[1]) refuse('kernelSize', 'smaller than the stride is not exported');
        const [kernel, bias] = w();
        const outC = c.filters as number;
        const inC = (layer.input as tf.SymbolicTensor).shape[3]!;
        // tfjs [kh, kw, out, in] -> ONNX [in, out, kh, kw].
        const inputs = [x, constant(`${layer.name}_W`, transpose(kernel, [kh, kw, outC, inC], [3, 2, 0, 1]), [inC, outC, kh, kw])];
        if (c.useBias) inputs.push(constant(`${layer.name}_B`, bias, [outC]));
        // 'same' gives out = in * stride: the transpose of TF's SAME conv crops (k - s) / 2 (floor) at the start.
        const crop = (k: number, s: number) => [Math.floor((k - s) / 2), k - s - Math.floor((k - s) / 2)];
        const [ht, hb] = c.padding === 'same' ? crop(kh, strides[0]) : [0, 0];
        const [wl, wr] = c.padding === 'same' ? crop(kw, strides[1]) : [0, 0];
        out = node('ConvTranspose', inputs, { kernel_shape: [kh, kw], strides, pads: [ht, wl, hb, wr] });
        out = activation(out, c.activation as string, refuse);
        break;
      }
      case 'BatchNormalization': {
        if (c.axis !== -1 && c.axis !== 3 && !(Array.isArray(c.axis) && c.axis[0] === 3)) refuse('axis', `${JSON.stringify(c.axis)} is not the channel axis`);
        const weights = w();
        const n = weights[weights.length - 1].length;
        const gamma = c.scale ? weights.shift()! : new Float32Array(n).fill(1);
        const beta = c.center ? weights.shift()! : new Float32Array(n);
        const [mean, variance] = weights;
        out = node('BatchNormalization', [x, ...[gamma, beta, mean, variance].map((v, i) => constant(`${layer.name}_${['scale', 'B', 'mean', 'var'][i]}`, v, [n]))], { epsilon: c.epsilon as number });
        break;
      }
      case 'InstanceNormalization': {
        const weights = w();
        const n = (layer.output as tf.SymbolicTensor).shape[3]!;
        const gamma = c.scale ? weights.shift()! : new Float32Array(n).fill(1);
        const beta = c.center ? weights.shift()! : new Float32Array(n);
        out = node('InstanceNormalization', [x, constant(`${layer.name}_scale`, gamma, [n]), constant(`${layer.name}_B`, beta, [n])], { epsilon: c.epsilon as number });
        break;
      }
      case 'ReflectionPadding2D':
      case 'EdgePadding2D':
      case 'ZeroPadding2D': {
        const [[t, b], [l, r]] = cls === 'ReflectionPadding2D' ? (c.padding as number[]).map((p) => [p, p]) : (c.padding as number[][]);
        const mode = { ReflectionPadding2D: 'reflect', EdgePadding2D: 'edge', ZeroPadding2D: 'constant' }[cls]!;
        out = node('Pad', [x, constant(`${layer.name}_pads`, [0, 0, t, l, 0, 0, b, r], [8], 'int64')], { mode });
        break;
      }
      case 'Cropping2D': {
        const [[t, b], [l, r]] = c.cropping as number[][];
        const end = (k: number) => (k ? -k : Number.MAX_SAFE_INTEGER);
        out = node('Slice', [x, constant('starts', [t, l], [2], 'int64'), constant('ends', [end(b), end(r)], [2], 'int64'), constant('axes', [2, 3], [2], 'int64')]);
        break;
      }
      case 'UpSampling2D': {
        const [sh, sw] = c.size as number[];
        // tfjs resizes with neither aligned corners nor half-pixel centres: ONNX's 'asymmetric'.
        const nearest = c.interpolation !== 'bilinear';
        out = node('Resize', [x, '', constant(`${layer.name}_scales`, [1, 1, sh, sw], [4])], {
          mode: nearest ? 'nearest' : 'linear',
          coordinate_transformation_mode: 'asymmetric',
          ...(nearest && { nearest_mode: 'floor' }),
        });
        break;
      }
      case 'Activation':
        out = activation(x, c.activation as string, refuse);
        break;
      case 'ReLU': {
        if (c.threshold || c.negativeSlope) refuse('threshold/negativeSlope', 'other than 0 is not exported');
        out = c.maxValue == null ? node('Relu', [x]) : node('Clip', [x, constant('min', [0], []), constant('max', [c.maxValue as number], [])]);
        break;
      }
      case 'LeakyReLU':
        out = node('LeakyRelu', [x], { alpha: c.alpha as number });
        break;
      case 'ELU':
        out = node('Elu', [x], { alpha: c.alpha as number });
        break;
      case 'Dropout':
      case 'SpatialDropout2D':
        out = x;
        break;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const kernel = c.poolSize as number[];
        const strides = (c.strides as number[]) ?? kernel;
        const pads: Record<string, Attribute> = c.padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] };
        out = node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x], { kernel_shape: kernel, strides, ...pads });
        break;
      }
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Average':
      case 'Maximum':
      case 'Minimum': {
        const inputs = inputOf(layer);
        const op = { Add: 'Sum', Subtract: 'Sub', Multiply: 'Mul', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' }[cls]!;
        // Add and Mul are binary in ONNX; Sum, Mean, Max and Min take any number of inputs.
        if (op === 'Sum' && inputs.length === 2) out = node('Add', inputs);
        else out = op === 'Mul' ? inputs.slice(1).reduce((a, b) => node('Mul', [a, b]), inputs[0]) : node(op, inputs);
        break;
      }
      case 'Concatenate':
        out = node('Concat', inputOf(layer), { axis: 1 });
        break;
      default:
        throw new UnsupportedModelError(layer.name, cls);
    }
    names.set(layer, out);
  }
  const last = names.get(model.outputs[0].sourceLayer)!;
  layerName = 'output';
  node('Identity', [last], {}, 'output');

  const inShape = model.inputs[0].shape;
  const outShape = model.outputs[0].shape;
  const valueInfo = (name: string, channels: number | null) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, channels == null ? { dimParam: 'channels' } : { dimValue: channels }, { dimParam: `${name}_height` }, { dimParam: `${name}_width` }] } } },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'alap',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', inShape[3])],
      output: [valueInfo('output', outShape[3])],
    },
  });
  return onnx.ModelProto.encode(proto).finish();

  /** The fused or standalone activation as ONNX ops after `x`. */
  function activation(x: string, name: string | undefined, refuse: (field: string, why: string) => never): string {
    switch ((name ?? 'linear').toLowerCase()) {
      case 'linear':
        return x;
      case 'relu':
        return node('Relu', [x]);
      case 'relu6':
        return node('Clip', [x, constant('min', [0], []), constant('max', [6], [])]);
      case 'tanh':
        return node('Tanh', [x]);
      case 'sigmoid':
        return node('Sigmoid', [x]);
      case 'elu':
        return node('Elu', [x], { alpha: 1 });
      default:
        return refuse('activation', `'${name}' has no ONNX export here`);
    }
  }
}

/** Symmetric explicit pads where 'same' is symmetric (stride 1, odd extent); TF's own SAME_UPPER otherwise. */
function convPads(padding: string, kernel: number[], strides: number[], dilations: number[]): Record<string, Attribute> {
  if (padding === 'valid') return { pads: [0, 0, 0, 0] };
  const extent = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  if (strides.every((s) => s === 1) && extent.every((e) => e % 2 === 1)) {
    const [ph, pw] = extent.map((e) => (e - 1) / 2);
    return { pads: [ph, pw, ph, pw] };
  }
  return { auto_pad: 'SAME_UPPER' };
}

function attribute(name: string, v: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) && name !== 'alpha' && name !== 'epsilon' ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

/** Permutes a row-major array of `shape` so that output axis i is input axis perm[i] (tfjs's transpose). */
export function transpose(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  return tf.tidy(() => tf.transpose(tf.tensor(data, shape), perm).dataSync() as Float32Array);
}
