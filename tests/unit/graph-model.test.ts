/**
 * Graph-model export: the exported graph, loaded by plain tf.loadGraphModel (no custom layers),
 * reproduces model.predict at several input sizes, for the zoo generators, the shipped models and
 * a model with every supported layer class; anything it cannot express is refused by name.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { SUPPORTED_LAYERS, UnsupportedModelError } from '../../src/core/graph/channel-graph';
import { toGraphModel, toGraphModelFiles } from '../../src/core/io/graph-model';
import { loadModelFromFiles } from '../../src/core/io/model-files';
import { EdgePadding2D, instanceNorm, reflectionPadding2d } from '../../src/core/models/layers';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';

const ROOT = path.resolve(__dirname, '../../public/models');
const shipped = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(path.join(ROOT, d, 'model.json'))) : [];

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

/**
 * Max |graph - layers| on random inputs at each [height, width]: a batch of 2 at the first size, of 1
 * after it (which also takes InstanceNormalization's single-image wasm path).
 */
async function maxDiff(model: tf.LayersModel, graph: tf.GraphModel, sizes: [number, number][]): Promise<number> {
  let worst = 0;
  for (const [i, [h, w]] of sizes.entries()) {
    const x = tf.randomUniform([i === 0 ? 2 : 1, h, w, model.inputs[0].shape[3]!], -1, 1, 'float32', h * w);
    const want = model.predict(x) as tf.Tensor;
    const got = graph.predict(x) as tf.Tensor;
    expect(got.shape).toEqual(want.shape);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))));
    worst = Math.max(worst, (await diff.data())[0]);
    tf.dispose([x, want, got, diff]);
  }
  return worst;
}

const loadGraph = (model: tf.LayersModel, options?: Parameters<typeof toGraphModel>[1]) => tf.loadGraphModel(tf.io.fromMemory(toGraphModel(model, options)));

/** Normalisation statistics and biases away from their identity initial values, so they matter. */
function perturbNonKernelWeights(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    tf.tidy(() => {
      const values = layer.weights.map((w, i) => {
        const v = w.read();
        const kind = w.originalName.split('/').pop()!;
        if (kind.includes('kernel')) return v;
        const r = tf.randomUniform(v.shape, -0.5, 0.5, 'float32', seed + i);
        return kind === 'moving_variance' || kind === 'gamma' ? tf.add(r, 1) : r;
      });
      layer.setWeights(values);
    });
  }
}

describe('graph-model export of the zoo generators', () => {
  it.each([
    ['resnet', defaultSpec('resnet', { ngf: 4, size: null, depth: 2 })],
    ['unet', defaultSpec('unet', { ngf: 4, size: null, depth: 4 })],
    ['globalgen', defaultSpec('globalgen', { ngf: 2, size: null, depth: 1, inChannels: 5 })],
    ['resnet with batch norm', defaultSpec('resnet', { ngf: 4, size: null, depth: 1, norm: 'batch' })],
  ])('%s matches model.predict at 32x32 and 48x64', async (_, spec) => {
    const model = buildGenerator(spec);
    perturbNonKernelWeights(model, 11);
    const graph = await loadGraph(model);
    expect(await maxDiff(model, graph, [[32, 32], [48, 64]])).toBeLessThan(1e-4);
    graph.dispose();
    model.dispose();
  });

  it('a fixed-size model exports with dynamic spatial dims', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const graph = await loadGraph(model);
    expect(await maxDiff(model, graph, [[32, 32]])).toBeLessThan(1e-4);
    const y = graph.predict(tf.zeros([1, 48, 64, 3])) as tf.Tensor;
    expect(y.shape).toEqual([1, 48, 64, 3]);
    tf.dispose(y);
    graph.dispose();
    model.dispose();
  });

  it('writes only standard TF ops, no custom layer classes', () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: null, depth: 1 }));
    const artifacts = toGraphModel(model);
    const json = JSON.stringify(artifacts.modelTopology);
    expect(json).not.toMatch(/ReflectionPadding2D|InstanceNormalization/);
    const ops = new Set((artifacts.modelTopology as { node: { op: string }[] }).node.map((n) => n.op));
    expect(ops).toContain('MirrorPad');
    expect(ops).toContain('Conv2DBackpropInput');
    expect(artifacts.format).toBe('graph-model');
    model.dispose();
  });
});

describe('graph-model export of the shipped models', () => {
  it.each(shipped)('%s matches model.predict at 64x64 and 48x80, with float32 and float16 weights', async (dir) => {
    const model = await loadModelFromFiles(readFileSync(path.join(ROOT, dir, 'model.json'), 'utf8'), new Map([['weights.bin', new Uint8Array(readFileSync(path.join(ROOT, dir, 'weights.bin')))]]));
    const sizes: [number, number][] = [
      [64, 64],
      [48, 80],
    ];
    const graph = await loadGraph(model);
    expect(await maxDiff(model, graph, sizes)).toBeLessThan(1e-4);
    graph.dispose();
    // The shipped weights are float16 already, so a float16 export loses nothing.
    const half = await loadGraph(model, { weights: 'float16' });
    expect(await maxDiff(model, half, [[64, 64]])).toBeLessThan(1e-4);
    half.dispose();
    model.dispose();
  });
});

/** Every activation name tfjs-layers serialises that the export writes out. */
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign', 'softmax', 'logSoftmax', 'swish', 'mish', 'gelu', 'gelu_new'];

/**
 * Stand-ins for the two SUPPORTED_LAYERS classes tfjs-layers lacks (a Keras model can carry them),
 * with Keras's inference behaviour.
 */
class Subtract extends tf.layers.Layer {
  static className = 'Subtract';
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b] = inputs as tf.Tensor[];
    return tf.sub(a, b);
  }
  computeOutputShape(shapes: tf.Shape | tf.Shape[]): tf.Shape {
    return (shapes as tf.Shape[])[0];
  }
}
class SpatialDropout2D extends tf.layers.Layer {
  static className = 'SpatialDropout2D';
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

/**
 * A small functional model with every class of SUPPORTED_LAYERS, for height x width inputs (even). The size
 * is fixed because tfjs-layers' Cropping2D cannot infer shapes from unknown spatial dims.
 */
function everyLayerModel(height: number, width: number): tf.LayersModel {
  const L = tf.layers;
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [height, width, 3], name: 'image' });
  let x = apply(L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_relu' }), input);
  x = apply(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'sigmoid', name: 'depthwise' }), x);
  x = apply(L.conv2d({ filters: 8, kernelSize: 1, useBias: false, activation: 'tanh', name: 'conv_no_bias' }), x);
  x = apply(L.batchNormalization({ name: 'bn' }), x);
  x = apply(instanceNorm('in'), x);
  x = apply(reflectionPadding2d(1, 'reflect'), x);
  x = apply(new EdgePadding2D({ padding: [[2, 1], [0, 1]], name: 'edge' }), x);
  x = apply(L.cropping2D({ cropping: [[2, 1], [0, 1]], name: 'crop_edge' }), x);
  x = apply(L.conv2d({ filters: 8, kernelSize: 3, activation: 'elu', name: 'conv_valid' }), x);
  x = apply(L.zeroPadding2d({ padding: [[1, 2], [0, 1]], name: 'zero_pad' }), x);
  const g = apply(L.cropping2D({ cropping: [[2, 1], [1, 0]], name: 'crop' }), x);

  const pooled = apply(L.maxPooling2d({ poolSize: 2, name: 'max_pool' }), g);
  const q = apply(L.upSampling2d({ size: [2, 2], name: 'up_nearest' }), pooled);
  const r = apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avg_pool' }), g);
  const s = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'conv_stride' }), g);
  const t = apply(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up_bilinear' }), s);
  const u = apply(L.conv2dTranspose({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', name: 'convt_same' }), pooled);
  const v0 = apply(L.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'convt_valid' }), pooled);
  const v = apply(L.cropping2D({ cropping: [[0, 1], [1, 0]], name: 'crop_convt' }), v0);
  const w = apply(L.conv2d({ filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'softsign', name: 'conv_dilated' }), g);
  const acts = ACTIVATIONS.map((a) => apply(L.activation({ activation: a as 'relu', name: `act_${a}` }), g));

  const merged = [
    apply(L.add({ name: 'add' }), [q, r]),
    apply(new Subtract({ name: 'subtract' }), [t, u]),
    apply(L.multiply({ name: 'multiply' }), [u, v]),
    apply(L.average({ name: 'average' }), [q, r, t]),
    apply(L.maximum({ name: 'maximum' }), [r, v]),
    apply(L.minimum({ name: 'minimum' }), [q, w]),
    apply(L.reLU({ name: 'relu_layer' }), g),
    apply(L.reLU({ maxValue: 6, name: 'relu_layer6' }), g),
    apply(L.reLU({ maxValue: 0.5, name: 'relu_layer_max' }), g),
    apply(L.leakyReLU({ alpha: 0.3, name: 'leaky' }), g),
    apply(L.elu({ name: 'elu_layer' }), g),
    apply(L.dropout({ rate: 0.5, name: 'dropout' }), g),
    apply(new SpatialDropout2D({ name: 'spatial_dropout' }), g),
    ...acts,
  ];
  const all = apply(L.concatenate({ axis: -1, name: 'concat' }), merged);
  const out = apply(L.conv2d({ filters: 3, kernelSize: 1, name: 'head' }), all);
  return tf.model({ inputs: input, outputs: out, name: 'every_layer' });
}

describe('graph-model export of every supported layer', () => {
  it.each(['wasm', 'cpu'])('matches model.predict on %s at 16x16 and 12x20', async (backend) => {
    await tf.setBackend(backend);
    const model = everyLayerModel(16, 16);
    perturbNonKernelWeights(model, 3);
    const classes = new Set(model.layers.map((l) => l.getClassName()));
    expect(SUPPORTED_LAYERS.filter((c) => !classes.has(c))).toEqual([]);
    const graph = await loadGraph(model);
    expect(await maxDiff(model, graph, [[16, 16]])).toBeLessThan(1e-4);
    // The same graph at another size, against the same weights in a model built for that size.
    const other = everyLayerModel(12, 20);
    other.setWeights(model.getWeights());
    expect(await maxDiff(other, graph, [[12, 20]])).toBeLessThan(1e-4);
    graph.dispose();
    [model, other].forEach((m) => m.dispose());
    await tf.setBackend('wasm');
  });

  it('model.json + weights.bin load with tf.loadGraphModel and run by input name', async () => {
    const model = everyLayerModel(8, 8);
    const files = toGraphModelFiles(model);
    const json = JSON.parse(files.modelJson);
    expect(json.format).toBe('graph-model');
    const graph = await tf.loadGraphModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, signature: json.signature, weightSpecs: json.weightsManifest[0].weights, weightData: files.shards.get('weights.bin')!.slice().buffer }),
    );
    expect(graph.inputNodes).toEqual(['image']);
    expect(graph.outputNodes).toEqual(['output']);
    const x = tf.randomUniform([1, 8, 8, 3], -1, 1, 'float32', 5);
    const got = graph.execute({ image: x }, 'output') as tf.Tensor;
    const want = model.predict(x) as tf.Tensor;
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))));
    expect((await diff.data())[0]).toBeLessThan(1e-4);
    tf.dispose([x, got, want, diff]);
    graph.dispose();
    model.dispose();
  });
});

describe('graph-model export refuses what it cannot express', () => {
  const input = () => tf.input({ shape: [8, 8, 3] });
  it.each([
    ['a strided dilated Conv2D', () => tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, dilationRate: 2, name: 'bad' }), /'bad' \(class Conv2D\) has dilationRate \[2,2\] with strides \[2,2\]/],
    ['a dilated DepthwiseConv2D', () => tf.layers.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, name: 'bad' }), /'bad' \(class DepthwiseConv2D\) has dilationRate/],
    ['BatchNormalization off the channel axis', () => tf.layers.batchNormalization({ axis: 1, name: 'bad' }), /'bad' \(class BatchNormalization\) has axis 1/],
    ['a class outside SUPPORTED_LAYERS', () => tf.layers.globalAveragePooling2d({ name: 'bad' }), /'bad' \(class GlobalAveragePooling2D\) is not supported/],
  ])('%s', (_, make, message) => {
    const x = input();
    const model = tf.model({ inputs: x, outputs: make().apply(x) as tf.SymbolicTensor });
    expect(() => toGraphModel(model)).toThrow(UnsupportedModelError);
    expect(() => toGraphModel(model)).toThrow(message);
    model.dispose();
  });
});
