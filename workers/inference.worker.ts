/**
 * Inference worker: owns one tfjs backend off the main thread. It loads models (from the studio's
 * IndexedDB or a URL), benchmarks them, profiles them layer by layer, and translates video frames
 * for the live demo. One worker per backend: the benchmark page starts one for each.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendName } from '../src/core/backend';
import { fromBytes, toBytes, type InputRange } from '../src/core/data/dataset';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { fetchModel } from '../src/core/io/model-files';
import { modelCost } from '../src/core/measure/cost';
import { layerLatencies, measureLatency, type LayerLatency, type Latency } from '../src/core/measure/latency';
import { buildGenerator, defaultSpec } from '../src/core/models/zoo';
import { openStudioDB } from '../src/store/db';
import { modelFromRecord, storedModel } from '../src/store/records';
import { WASM_PATHS } from './wasm-paths';

export interface SelfTest {
  backend: string;
  outputShape: number[];
  /** Mean |output| read back from the backend: proves the forward pass really ran. */
  meanAbs: number;
  ms: number;
}

/** A model from the studio's storage, or model.json + weights.bin under a URL (a shipped preset). */
export type ModelSource = { kind: 'stored'; id: string } | { kind: 'url'; url: string; name: string };

export interface BenchmarkResult {
  latency: Latency;
  macs: number;
  params: number;
  /** Effective GFLOP/s: 2 x MACs per frame / median time. */
  gflops: number;
}

const models = new Map<string, { model: tf.LayersModel; range: InputRange; name: string }>();

function loaded(key: string) {
  const m = models.get(key);
  if (!m) throw new Error(`Model '${key}' is not loaded in this worker`);
  return m;
}

/** Centre square of a frame at `size` x `size`, as pixels tfjs can read. */
function squareFrame(frame: ImageBitmap, size: number): ImageData {
  const ctx = new OffscreenCanvas(size, size).getContext('2d', { willReadFrequently: true })!;
  const side = Math.min(frame.width, frame.height);
  ctx.drawImage(frame, (frame.width - side) / 2, (frame.height - side) / 2, side, side, 0, 0, size, size);
  return ctx.getImageData(0, 0, size, size);
}

const api = {
  async init(prefer?: BackendName, wasmThreads?: number): Promise<BackendInfo> {
    return initBackend({ prefer, wasmPaths: WASM_PATHS, wasmThreads });
  },

  async selfTest(): Promise<SelfTest> {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 1);
    const t0 = performance.now();
    const y = model.predict(x) as tf.Tensor;
    const values = (await y.data()) as Float32Array;
    const ms = performance.now() - t0;
    const meanAbs = values.reduce((s, v) => s + Math.abs(v), 0) / values.length;
    const result = { backend: tf.getBackend(), outputShape: y.shape, meanAbs, ms };
    tf.dispose([x, y]);
    model.dispose();
    return result;
  },

  /** Loads (or replaces) the model under `key`. */
  async loadModel(key: string, source: ModelSource): Promise<{ name: string; params: number }> {
    let entry: { model: tf.LayersModel; range: InputRange; name: string };
    if (source.kind === 'stored') {
      const db = await openStudioDB();
      const record = await storedModel(db, source.id).finally(() => db.close());
      entry = { model: await modelFromRecord(record), range: record.inputRange, name: record.name };
    } else {
      entry = { model: await fetchModel(source.url, source.name), range: '-1,1', name: source.name };
    }
    models.get(key)?.model.dispose();
    models.set(key, entry);
    return { name: entry.name, params: entry.model.countParams() };
  },

  /** Warm-up, then `runs` timed frames of predict + read-back at size x size. */
  async benchmark(key: string, size: number, runs: number, warmup: number): Promise<BenchmarkResult> {
    const { model } = loaded(key);
    const cost = modelCost(readChannelGraph(model), [size, size]);
    const latency = await measureLatency(model, [1, size, size, model.inputs[0].shape[3]!], { runs, warmup });
    return { latency, macs: cost.macs, params: cost.params, gflops: (2 * cost.macs) / (latency.medianMs * 1e6) };
  },

  /** Which layers cost the time on this backend (with their MACs: MACs are not time). */
  async profile(key: string, size: number, runs: number): Promise<(LayerLatency & { macs: number })[]> {
    const { model } = loaded(key);
    const macs = new Map(modelCost(readChannelGraph(model), [size, size]).layers.map((l) => [l.name, l.macs]));
    const layers = await layerLatencies(model, [1, size, size, model.inputs[0].shape[3]!], runs);
    return layers.map((l) => ({ ...l, macs: macs.get(l.name) ?? 0 }));
  },

  /**
   * One video frame through one model, or two side by side (split: left half of the first, right
   * half of the second). Returns the picture and each model's time (inference + read-back).
   */
  async translate(frame: ImageBitmap, keys: string[], size: number): Promise<{ image: ImageBitmap; ms: number[] }> {
    const pixels = squareFrame(frame, size);
    frame.close();
    const input = tf.tidy(() => tf.browser.fromPixels(pixels).toFloat().expandDims(0));
    const ms: number[] = [];
    const outputs: tf.Tensor3D[] = [];
    try {
      for (const key of keys) {
        const { model, range } = loaded(key);
        const t0 = performance.now();
        const y = tf.tidy(() => toBytes(model.predict(fromBytes(input, range)) as tf.Tensor, range).squeeze([0]) as tf.Tensor3D);
        await y.data();
        ms.push(performance.now() - t0);
        outputs.push(y);
      }
      const half = Math.floor(size / 2);
      const picture = tf.tidy(() =>
        (outputs.length === 1 ? outputs[0] : tf.concat([tf.slice(outputs[0], [0, 0, 0], [size, half, 3]), tf.slice(outputs[1], [0, half, 0], [size, size - half, 3])], 1)).toInt(),
      );
      const rgba = await tf.browser.toPixels(picture);
      picture.dispose();
      const canvas = new OffscreenCanvas(size, size);
      canvas.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, size, size), 0, 0);
      const image = canvas.transferToImageBitmap();
      return Comlink.transfer({ image, ms }, [image]);
    } finally {
      tf.dispose([input, ...outputs]);
    }
  },

  /** Tensors alive in this worker (the live page checks that it stays flat). */
  tensors(): number {
    return tf.memory().numTensors;
  },
};

export type InferenceApi = typeof api;
Comlink.expose(api);
