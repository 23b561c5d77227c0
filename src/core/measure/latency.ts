/**
 * Latency of a model on the current backend, measured as the tfjs benchmark page does: warm-up
 * runs first, then each timed run is predict() plus reading the output back (`await data()`).
 */
import * as tf from '@tensorflow/tfjs';

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
  };
}

export async function measureLatency(model: tf.LayersModel, inputShape: number[], opts: LatencyOptions = {}): Promise<Latency> {
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 20;
  if (runs < 1) throw new Error('Latency needs at least one timed run');
  const input = tf.randomUniform(inputShape, -1, 1, 'float32', 7);
  const once = async () => {
    const out = model.predict(input) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
  };
  try {
    for (let i = 0; i < warmup; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
      opts.onRun?.(i + 1, runs);
    }
    return { backend: tf.getBackend(), inputShape, ...summarise(times) };
  } finally {
    input.dispose();
  }
}
