/**
 * Inference worker: owns one tfjs backend off the main thread. It loads models (from the studio's
 * IndexedDB or a URL), benchmarks them, profiles them layer by layer, and translates video frames
 * for the live demo. One worker per backend: the benchmark page starts one for each. Optionally a
 * loaded model runs on onnxruntime-web instead (its ONNX export, same weights): where that
 * runtime is measured faster, the live demo can use it; training always stays on tfjs.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendName } from '../core/backend';
import { browserProbeKey, type ProbeResult } from '../core/backend/choice';
import { probeBackends } from '../core/backend/probe';
import { fromBytes, toBytes, type InputRange } from '../core/data/dataset';
import { readChannelGraph } from '../core/graph/channel-graph';
import { fetchModel } from '../core/io/model-files';
import { modelCost } from '../core/measure/cost';
import { compareViews, modelView, type ComparedLayer, type ModelView } from '../core/graph/model-view';
import { layerLatencies, measureFrames, measureLatency, type LayerLatency, type Latency } from '../core/measure/latency';
import { buildGenerator, defaultSpec } from '../core/models/zoo';
import { foldBatchNorms } from '../core/models/fold';
import { openStudioDB } from '../store/db';
import { modelFromRecord, storedModel } from '../store/records';
import { onnxSession, runOnnx } from '../core/io/onnx-run';
import { fastestOf } from '../core/measure/fastest';
import { kernelProfile, type KernelProfile } from '../core/measure/kernels';
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
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

const models = new Map<string, { model: tf.LayersModel; range: InputRange; name: string; session?: ort.InferenceSession }>();

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
  async init(prefer: BackendName, wasmThreads?: number, why?: string): Promise<BackendInfo> {
    return initBackend({ prefer, wasmPaths: WASM_PATHS, wasmThreads, why });
  },

  /**
   * Measures this device's backends and stores the figures for this device and browser (the page
   * reads them back itself). Run it in a worker of its own: it leaves the worker on whichever
   * backend it measured last.
   */
  async measureBackends(): Promise<ProbeResult & { storeError?: string }> {
    const key = await browserProbeKey();
    const probe = await probeBackends({ candidates: ['wasm', 'webgpu'], fallback: 'cpu', key, wasmPaths: WASM_PATHS });
    const db = await openStudioDB();
    // A probe that cannot be stored (full disk) is still used now; the next visit measures again.
    const storeError = await db.put('probes', probe).then(() => undefined, (e: Error) => e.message).finally(() => db.close());
    return { ...probe, storeError };
  },

  /** MACs of one frame through each of the loaded models `keys` at size x size, summed. */
  macsPerFrame(keys: string[], size: number): number {
    return keys.reduce((sum, key) => sum + modelCost(readChannelGraph(loaded(key).model), [size, size]).macs, 0);
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

  /** Loads (or replaces) the model under `key`; `asStored` keeps its layers as they are (the Models page) instead of the inference copy. */
  async loadModel(key: string, source: ModelSource, asStored = false): Promise<{ name: string; params: number }> {
    let entry: { model: tf.LayersModel; range: InputRange; name: string };
    if (source.kind === 'stored') {
      const db = await openStudioDB();
      const record = await storedModel(db, source.id).finally(() => db.close());
      entry = { model: await modelFromRecord(record), range: record.inputRange, name: record.name };
    } else {
      entry = { model: await fetchModel(source.url, source.name), range: '-1,1', name: source.name };
    }
    const params = entry.model.countParams();
    // Frames run through an inference copy: batch norms folded into their convolutions (exact).
    const folded = asStored ? null : await foldBatchNorms(entry.model);
    if (folded) {
      entry.model.dispose();
      entry.model = folded;
    }
    const old = models.get(key);
    old?.model.dispose();
    await old?.session?.release();
    models.set(key, entry);
    return { name: entry.name, params };
  },

  /**
   * Runs the loaded model `key` on onnxruntime-web (wasm, `threads` threads; the first call in a
   * worker fixes the count) from now on: its ONNX export, refused unless it computes what tfjs
   * computes on one random frame (1e-3 of the output's scale).
   */
  async useOnnxRuntime(key: string, threads: number): Promise<{ maxDiff: number }> {
    const entry = loaded(key);
    ort.env.wasm.wasmPaths = { wasm: ortWasm };
    const session = await onnxSession(entry.model, threads);
    const x = tf.randomUniform([1, 32, 32, entry.model.inputs[0].shape[3]!], -1, 1, 'float32', 1) as tf.Tensor4D;
    const viaOrt = await runOnnx(session, x);
    const [diff, scale] = tf.tidy(() => {
      const y = entry.model.predict(x) as tf.Tensor;
      return [tf.max(tf.abs(tf.sub(viaOrt, y))), tf.max(tf.abs(y))];
    });
    const [maxDiff, maxAbs] = [(await diff.data())[0], (await scale.data())[0]];
    tf.dispose([x, viaOrt, diff, scale]);
    if (!(maxDiff <= 1e-3 * Math.max(1, maxAbs))) {
      await session.release();
      throw new Error(`${entry.name} on onnxruntime-web differs from tfjs by ${maxDiff.toPrecision(2)}: not used`);
    }
    await entry.session?.release();
    entry.session = session;
    return { maxDiff };
  },

  /**
   * Measures the loaded model `key` at size x size on this worker's tfjs backend and on
   * onnxruntime-web (`threads` threads) and keeps the faster; a model whose ONNX export is refused
   * stays on tfjs, with the reason.
   */
  async chooseRuntime(key: string, size: number, threads: number): Promise<{ runtime: 'tfjs' | 'onnxruntime'; medianMs: Partial<Record<'tfjs' | 'onnxruntime', number>>; why?: string }> {
    const entry = loaded(key);
    const shape = [1, size, size, entry.model.inputs[0].shape[3]!];
    const frames = { warmup: 1, runs: 3 };
    const onTfjs = async () => (await measureLatency(entry.model, shape, frames)).medianMs;
    try {
      await api.useOnnxRuntime(key, threads);
    } catch (e) {
      return { runtime: 'tfjs', medianMs: { tfjs: await onTfjs() }, why: (e as Error).message };
    }
    const session = entry.session!;
    const onOrt = async () => (await measureFrames(async (x) => (await runOnnx(session, x as tf.Tensor4D)).dispose(), shape, frames)).medianMs;
    const choice = await fastestOf({ tfjs: onTfjs, onnxruntime: onOrt });
    if (choice.chosen === 'tfjs') {
      await session.release();
      entry.session = undefined;
    }
    return { runtime: choice.chosen, medianMs: choice.medianMs };
  },

  /** Warm-up, then `runs` timed frames of predict + read-back at size x size. */
  async benchmark(key: string, size: number, runs: number, warmup: number): Promise<BenchmarkResult> {
    const { model, session } = loaded(key);
    const cost = modelCost(readChannelGraph(model), [size, size]);
    const shape = [1, size, size, model.inputs[0].shape[3]!];
    const onOrt = async (x: tf.Tensor) => (await runOnnx(session!, x as tf.Tensor4D)).dispose();
    const latency = session ? await measureFrames(onOrt, shape, { runs, warmup }, 'onnxruntime-web wasm') : await measureLatency(model, shape, { runs, warmup });
    return { latency, macs: cost.macs, params: cost.params, gflops: (2 * cost.macs) / (latency.medianMs * 1e6) };
  },

  /** The model's layer graph at size x size (the Models page), and each layer next to its pruned copy's when `prunedKey` is given. */
  async describe(key: string, size: number, prunedKey?: string): Promise<{ view: ModelView; compared: ComparedLayer[] | null }> {
    const view = modelView(loaded(key).model, size);
    return { view, compared: prunedKey ? compareViews(view, modelView(loaded(prunedKey).model, size)) : null };
  },

  /** Which layers cost the time on this backend (with their MACs: MACs are not time). */
  async profile(key: string, size: number, runs: number): Promise<(LayerLatency & { macs: number })[]> {
    const { model, session } = loaded(key);
    if (session) throw new Error('The per-layer profile is for tfjs backends; this model runs on onnxruntime-web here');
    const macs = new Map(modelCost(readChannelGraph(model), [size, size]).layers.map((l) => [l.name, l.macs]));
    const layers = await layerLatencies(model, [1, size, size, model.inputs[0].shape[3]!], runs);
    return layers.map((l) => ({ ...l, macs: macs.get(l.name) ?? 0 }));
  },

  /** The kernels one frame runs on this backend: how many, and each kind's time where the backend can time them. */
  async kernels(key: string, size: number): Promise<KernelProfile> {
    const { model, session } = loaded(key);
    if (session) throw new Error('The kernel profile is for tfjs backends; this model runs on onnxruntime-web here');
    return kernelProfile(model, [1, size, size, model.inputs[0].shape[3]!]);
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
        const { model, range, session } = loaded(key);
        const t0 = performance.now();
        let y: tf.Tensor3D;
        if (session) {
          const x = tf.tidy(() => fromBytes(input, range)) as tf.Tensor4D;
          const out = await runOnnx(session, x);
          y = tf.tidy(() => toBytes(out, range).squeeze([0]) as tf.Tensor3D);
          tf.dispose([x, out]);
        } else {
          y = tf.tidy(() => toBytes(model.predict(fromBytes(input, range)) as tf.Tensor, range).squeeze([0]) as tf.Tensor3D);
        }
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
