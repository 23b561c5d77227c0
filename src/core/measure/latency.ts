/**
 * Latency of a model on the current backend, measured as the tfjs benchmark page does: warm-up
 * runs first, then each timed run is predict() plus reading the output back (`await data()`).
 */
import * as tf from '@tensorflow/tfjs';
import { foldBatchNorms } from '../models/fold';

export interface LatencyOptions {
  warmup?: number;
  runs?: number;
  /** Called after each timed run (progress). */
  onRun?: (done: number, total: number) => void;
}

export interface Latency {
  backend: string;
  inputShape: number[];
  runs: number;
  medianMs: number;
  p95Ms: number;
  meanMs: number;
  minMs: number;
  fps: number;
  /** Each timed frame's time, in the order measured (spikes and drift show where a median hides them). */
  timesMs: number[];
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarise(timesMs: number[]): Omit<Latency, 'backend' | 'inputShape'> {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  return {
    runs: sorted.length,
    medianMs: median,
    p95Ms: quantile(sorted, 0.95),
    meanMs: sorted.reduce((s, t) => s + t, 0) / sorted.length,
    minMs: sorted[0],
    fps: 1000 / median,
    timesMs: [...timesMs],
  };
}

export async function measureLatency(model: tf.LayersModel, inputShape: number[], opts: LatencyOptions = {}): Promise<Latency> {
  return measureFrames(
    async (input) => {
      const out = model.predict(input) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(out) ? out : [out];
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
    },
    inputShape,
    opts,
  );
}

/**
 * The same for any way of computing a frame (e.g. another runtime): `frame` runs the input through
 * to outputs read back. `backend` names what ran it in the result.
 */
export async function measureFrames(frame: (input: tf.Tensor) => Promise<void>, inputShape: number[], opts: LatencyOptions = {}, backend = tf.getBackend()): Promise<Latency> {
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 20;
  if (runs < 1) throw new Error('Latency needs at least one timed run');
  const input = tf.randomUniform(inputShape, -1, 1, 'float32', 7);
  const once = () => frame(input);
  try {
    for (let i = 0; i < warmup; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
      opts.onRun?.(i + 1, runs);
    }
    return { backend, inputShape, ...summarise(times) };
  } finally {
    input.dispose();
  }
}

/**
 * How a model's latency is obtained. On a device it is timed (`timedMeasurer`); code that decides
 * from measured time takes one as a parameter so tests can drive it with a deterministic cost model.
 */
export type LatencyMeasurer = (model: tf.LayersModel, inputShape: number[]) => Promise<Latency>;

export function timedMeasurer(opts: LatencyOptions = {}): LatencyMeasurer {
  return (model, inputShape) => measureLatency(model, inputShape, opts);
}

/** `measure` applied as the inference worker runs a model on tfjs: to its copy with batch norms folded (fold.ts). */
export function foldedMeasurer(measure: LatencyMeasurer): LatencyMeasurer {
  return async (model, inputShape) => {
    const folded = await foldBatchNorms(model);
    try {
      return await measure(folded ?? model, inputShape);
    } finally {
      folded?.dispose();
    }
  };
}

/**
 * Each model timed by every measurer, the fastest result kept: Live runs each model on the runtime
 * it measures faster, so an FPS budget is met on that one. A measurer that fails on a model (e.g.
 * onnxruntime cannot take its export) is passed over; if all fail, the last error is thrown.
 */
export function fastestMeasurer(measurers: LatencyMeasurer[]): LatencyMeasurer {
  return async (model, inputShape) => {
    let best: Latency | undefined;
    let error: unknown = new Error('No latency measurer');
    for (const measure of measurers) {
      try {
        const latency = await measure(model, inputShape);
        if (!best || latency.medianMs < best.medianMs) best = latency;
      } catch (e) {
        error = e;
      }
    }
    if (!best) throw error;
    return best;
  };
}

export interface LayerLatency {
  name: string;
  className: string;
  /** Median time of this layer alone (apply + read back), ms. */
  ms: number;
  /** Share of the sum over layers. */
  share: number;
}

/**
 * Per-layer latency on the current backend: the model is run layer by layer on a random input,
 * each layer timed `runs` times (after one warm-up pass); medians per layer. wasm and cpu run
 * kernels synchronously, so a layer's time is its apply; GPU backends queue work, so there each
 * layer's output is read back too, which adds a little per layer. The shares show where the time
 * goes (MACs are not time).
 */
export async function layerLatencies(model: tf.LayersModel, inputShape: number[], runs = 5): Promise<LayerLatency[]> {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const times = layers.map(() => [] as number[]);
  const synchronous = ['wasm', 'cpu'].includes(tf.getBackend());
  const input = tf.randomUniform(inputShape, -1, 1, 'float32', 7);
  try {
    for (let r = -1; r < runs; r++) {
      const values = new Map<number, tf.Tensor>([[model.inputs[0].id, input]]);
      try {
        for (const [i, layer] of layers.entries()) {
          const node = layer.inboundNodes[0];
          const ins = node.inputTensors.map((s) => values.get(s.id)!);
          const t0 = performance.now();
          const out = layer.apply(ins.length === 1 ? ins[0] : ins) as tf.Tensor;
          if (!synchronous) await out.data();
          if (r >= 0) times[i].push(performance.now() - t0);
          values.set(node.outputTensors[0].id, out);
        }
      } finally {
        values.delete(model.inputs[0].id);
        tf.dispose([...values.values()]);
      }
    }
  } finally {
    input.dispose();
  }
  const medians = times.map((t) => summarise(t).medianMs);
  const total = medians.reduce((s, t) => s + t, 0);
  return layers.map((l, i) => ({ name: l.name, className: l.getClassName(), ms: medians[i], share: medians[i] / total }));
}
