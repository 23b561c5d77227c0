import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { pruneModel, selectGroups } from '../../src/core/compress/prune';
import { parseBudget } from '../../src/core/compress/budget';
import { DEFAULT_SPEC, runPipeline } from '../../src/core/compress/pipeline';
import { trainingSets } from '../../src/core/data/dataset';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { MemoryCheckpointStore } from '../../src/core/io/checkpoint';
import { toOnnx } from '../../src/core/io/onnx-export';
import { onnxLatencyMeasurer, onnxSession, runOnnx } from '../../src/core/io/onnx-run';
import { fromOnnx, OnnxImportError } from '../../src/core/io/onnx-import';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { readModelDir } from '../../src/cli/model-dir';
import { main } from '../../src/cli/main';

const FIXTURES = path.resolve(__dirname, '../fixtures/onnx');
const SHIPPED = path.resolve(__dirname, '../../public/models');
const fixture = (name: string) => new Uint8Array(readFileSync(path.join(FIXTURES, `${name}.onnx`)));

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
  ort.env.wasm.numThreads = 1;
});

/** onnxruntime's output for an NHWC input, as NHWC. */
async function ortRun(bytes: Uint8Array, x: tf.Tensor4D): Promise<tf.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', (await nchw.data()) as Float32Array, nchw.shape) });
  nchw.dispose();
  const out = result[session.outputNames[0]];
  await session.release();
  return tf.tidy(() => tf.transpose(tf.tensor(out.data as Float32Array, out.dims as number[]), [0, 2, 3, 1]));
}

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  tf.dispose([a, b, d]);
  return v;
}

/** Trained-looking normalisation: random gamma/beta and running statistics (fresh ones hide transposition bugs). */
function randomiseNorms(model: tf.LayersModel, seed = 1): void {
  for (const l of model.layers) {
    const cls = l.getClassName();
    if (cls !== 'BatchNormalization' && cls !== 'InstanceNormalization') continue;
    const values = l.weights.map((w, i) => tf.tidy(() => (w.name.includes('variance') ? tf.randomUniform(w.shape as number[], 0.5, 2, 'float32', seed + i) : tf.randomNormal(w.shape as number[], w.name.includes('gamma') ? 1 : 0, 0.3, 'float32', seed + i))));
    l.setWeights(values);
    tf.dispose(values);
  }
}

const zoo = () => [
  buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 2, seed: 3 })),
  buildGenerator(defaultSpec('unet', { ngf: 4, size: 32, depth: 5, seed: 4 })),
  buildGenerator(defaultSpec('globalgen', { ngf: 4, size: 32, depth: 2, inChannels: 3, seed: 5 })),
];

describe('ONNX export', () => {
  it('zoo models (random norms), the shipped models at two sizes and a pruned model run in onnxruntime as in tfjs (1e-4)', async () => {
    const models = zoo();
    models.forEach((m, i) => randomiseNorms(m, i));
    const shipped = await Promise.all(['mask-to-face', 'face-to-cartoon', 'unpaired'].map((d) => readModelDir(path.join(SHIPPED, d))));
    const graph = readChannelGraph(models[0]);
    const pruned = await pruneModel(graph, (await selectGroups(graph, parseBudget('macs=0.4'), [32, 32])).removed);
    for (const m of [...models, pruned, ...shipped]) {
      const bytes = toOnnx(m);
      const sizes = m.inputs[0].shape[1] === null ? [[32, 32], [48, 64]] : [[32, 32]];
      for (const [h, w] of sizes) {
        const x = tf.randomUniform([2, h, w, m.inputs[0].shape[3]!], -1, 1, 'float32', 7) as tf.Tensor4D;
        expect(await maxDiff(await ortRun(bytes, x), m.predict(x) as tf.Tensor), `${m.name} at ${h}x${w}`).toBeLessThan(1e-4);
        x.dispose();
      }
    }
    tf.dispose([...models, pruned, ...shipped] as unknown as tf.TensorContainer);
  });

  it('float16 weights halve the file and stay within float16 rounding of float32', async () => {
    const m = zoo()[0];
    const full = toOnnx(m);
    const half = toOnnx(m, { weights: 'float16', metadata: { input_range: '-1,1' } });
    expect(half.length).toBeLessThan(full.length * 0.6);
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    expect(await maxDiff(await ortRun(half, x), await ortRun(full, x))).toBeLessThan(2e-3);
    expect(fromOnnx(half).metadata).toEqual({ input_range: '-1,1' });
    x.dispose();
  });

  it('a layer with no ONNX equivalent is refused by name', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const out = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'softplus', name: 'soft' }).apply(input) as tf.SymbolicTensor;
    expect(() => toOnnx(tf.model({ inputs: input, outputs: out }))).toThrow("ONNX export: layer 'soft' (Conv2D): activation 'softplus' has no ONNX export here");
  });
});

describe('ONNX import', () => {
  it('round trips: tfjs -> ONNX -> tfjs gives the same model, layer for layer (zoo and shipped models)', async () => {
    const shipped = await Promise.all(['mask-to-face', 'face-to-cartoon', 'unpaired'].map((d) => readModelDir(path.join(SHIPPED, d))));
    for (const m of [...zoo(), ...shipped]) {
      randomiseNorms(m);
      const back = fromOnnx(toOnnx(m)).model;
      expect(back.layers.map((l) => l.getClassName())).toEqual(m.layers.map((l) => l.getClassName()));
      const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 9);
      expect(await maxDiff(back.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor)).toBeLessThan(1e-6);
      x.dispose();
      m.dispose();
      back.dispose();
    }
  });

  it('torch-style exports (junyanz ResNet and U-Net generators, conv/activation/resize/pool/pad/norm variants, edge padding) match onnxruntime at two sizes, and ONNX -> tfjs -> ONNX too', async () => {
    for (const name of ['resnet_generator', 'unet_generator', 'conv_variants', 'activations', 'resize_pool', 'pads_norms', 'edge_pad']) {
      const bytes = fixture(name);
      const { model, opset, producer } = fromOnnx(bytes, name);
      expect(opset).toBe(17);
      expect(producer).toBe('pytorch 2.1.0');
      readChannelGraph(model); // prunable as it is
      const again = toOnnx(model);
      for (const [h, w] of [
        [32, 32],
        [64, 96],
      ]) {
        const x = tf.randomUniform([2, h, w, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
        const expected = await ortRun(bytes, x);
        expect(await maxDiff(model.predict(x) as tf.Tensor, expected.clone()), `${name} at ${h}x${w}`).toBeLessThan(1e-4);
        expect(await maxDiff(await ortRun(again, x), expected), `${name} re-exported at ${h}x${w}`).toBeLessThan(1e-4);
        x.dispose();
      }
      model.dispose();
    }
  });

  it('refuses what it cannot map in one sentence naming the node, op and attribute, leaving no variables behind', () => {
    const refusals: [Uint8Array, string][] = [
      [fixture('unsupported_op'), "Node '/Transpose' (Transpose): op type 'Transpose' is not supported."],
      [fixture('unsupported_attr'), "Node '/up/ConvTranspose' (ConvTranspose): attribute 'dilations' other than 1 is not supported"],
      [fixture('unsupported_resize'), "Node '/down_bilinear_ac/Resize' (Resize): only whole-number spatial upscaling is supported, got scales [1,1,0.5,0.5]"],
      [new TextEncoder().encode('{"format": "layers-model"}'), 'Not a readable ONNX file'],
      [fixture('resnet_generator').slice(0, 20000), 'Not a readable ONNX file'],
      [new Uint8Array(0), 'The ONNX file has no graph'],
    ];
    const variables = () => Object.keys(tf.engine().state.registeredVariables).length;
    const before = variables();
    for (const [bytes, message] of refusals) {
      expect(() => fromOnnx(bytes)).toThrow(OnnxImportError);
      expect(() => fromOnnx(bytes)).toThrow(message);
    }
    expect(variables()).toBe(before);
  });

  it('fuzzed files (random bytes changed) either import as a working model or are refused with OnnxImportError', () => {
    const original = fixture('conv_variants');
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const variables = () => Object.keys(tf.engine().state.registeredVariables).length;
    const before = variables();
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const bytes = original.slice();
      for (let k = 0; k < 4; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        const { model } = fromOnnx(bytes);
        tf.tidy(() => model.predict(tf.zeros([1, 16, 16, model.inputs[0].shape[3]!])));
        model.dispose();
      } catch (e) {
        expect(e, (e as Error).stack).toBeInstanceOf(OnnxImportError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(variables()).toBe(before);
  });

  it.each(['resnet_generator', 'unet_generator'])('an imported torch %s compresses end to end and goes back out as ONNX that onnxruntime runs like tfjs', async (name) => {
    const { model } = fromOnnx(fixture(name), name);
    const { inputs, targets } = syntheticShapes(8, 32, 3);
    const { train, test } = trainingSets(inputs, targets, { size: 32, range: '-1,1', heldOut: 2 });
    const { student, report } = await runPipeline({
      spec: { ...DEFAULT_SPEC, size: 32, budget: 'macs=0.5', steps: { train: 0, condense: 0, distill: 3 }, batchSize: 2, latencyRuns: 1, checkpointEvery: 100 },
      model,
      train,
      test,
      store: new MemoryCheckpointStore(),
      backend: 'wasm',
      device: 'test',
    });
    expect(report!.macs.ratio).toBeGreaterThan(1.8);
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    expect(await maxDiff(await ortRun(toOnnx(student), x), student.predict(x) as tf.Tensor)).toBeLessThan(1e-4);
    tf.dispose([x, model, student] as unknown as tf.TensorContainer);
  });
});

describe('alap convert', () => {
  it('ONNX -> tfjs Layers folder -> ONNX file, each with a README; a wrong --to is a usage error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alap-convert-'));
    const source = path.join(FIXTURES, 'unet_generator.onnx');
    expect(await main(['convert', source, '--to', 'tfjs-layers', '--out', path.join(dir, 'layers')])).toBe(0);
    expect(await main(['convert', path.join(dir, 'layers'), '--to', 'onnx', '--out', path.join(dir, 'onnx'), '--input-range=-1,1', '--size', '64'])).toBe(0);
    expect(readFileSync(path.join(dir, 'onnx', 'README.md'), 'utf8')).toContain("ort.InferenceSession.create('model.onnx')");
    expect(readFileSync(path.join(dir, 'layers', 'README.md'), 'utf8')).toContain("tf.loadLayersModel('model.json')");
    const x = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    expect(await maxDiff(await ortRun(new Uint8Array(readFileSync(path.join(dir, 'onnx', 'model.onnx'))), x), await ortRun(new Uint8Array(readFileSync(source)), x))).toBeLessThan(1e-4);
    x.dispose();
    expect(await main(['convert', source, '--to', 'caffe', '--out', path.join(dir, 'x')])).toBe(1);
  });
});

describe('onnx-run (what Live and the real-time bench run on onnxruntime-web)', () => {
  it('runOnnx gives the model\'s output in NHWC; the latency measurer times that and names the runtime', async () => {
    const model = buildGenerator({ ...defaultSpec('resnet', { ngf: 4, depth: 1, size: null, norm: 'batch' }) });
    randomiseNorms(model, 3);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const session = await onnxSession(model, 1);
    expect(await maxDiff(await runOnnx(session, x), model.predict(x) as tf.Tensor)).toBeLessThan(1e-4);
    await session.release();
    const latency = await onnxLatencyMeasurer(1, 3)(model, [1, 16, 16, 3]);
    expect(latency).toMatchObject({ backend: 'onnxruntime-web wasm, 1 thread', runs: 3, inputShape: [1, 16, 16, 3] });
    expect(latency.medianMs).toBeGreaterThan(0);
    tf.dispose([x, model] as unknown as tf.TensorContainer);
  });
});
