/**
 * The kernels one frame of a model runs on the current backend (tf.profile): how many, and the
 * time of each kind. On wasm and cpu a kernel's time is its wall time (they run synchronously);
 * on WebGPU it is GPU time from timestamp queries where the device has `timestamp-query`, and
 * unknown otherwise (tfjs reports 0 then, which is not shown as a time).
 */
import * as tf from '@tensorflow/tfjs';

export type KernelTiming = 'cpu' | 'gpu' | 'none';

export interface KernelProfile {
  backend: string;
  /** Kernels per frame (each op tfjs dispatches, fused ones counted once). */
  kernels: number;
  timing: KernelTiming;
  /** Per kernel name: how many per frame and their summed time (null where there is no timing). */
  byName: { name: string; count: number; ms: number | null }[];
}

/** What times a kernel on the current backend. */
export function kernelTiming(): KernelTiming {
  const name = tf.getBackend();
  if (name === 'wasm' || name === 'cpu') return 'cpu';
  if (name === 'webgpu') return (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery ? 'gpu' : 'none';
  return 'none';
}

/** Profiles one frame of `model` on `inputShape` (after one warm-up frame), output read back. */
export async function kernelProfile(model: tf.LayersModel, inputShape: number[]): Promise<KernelProfile> {
  const x = tf.randomUniform(inputShape, -1, 1, 'float32', 7);
  try {
    const warm = model.predict(x) as tf.Tensor;
    await warm.data();
    warm.dispose();
    const info = await tf.profile(async () => {
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    });
    const timing = kernelTiming();
    const byName = new Map<string, { count: number; ms: number }>();
    // tf.profile also lists the scopes of fused ops, which are not kernels.
    const kernels = info.kernels.filter((k) => !/scope|__op$/.test(k.name) && k.name !== 'Identity');
    for (const k of kernels) {
      const entry = byName.get(k.name) ?? { count: 0, ms: 0 };
      entry.count++;
      if (typeof k.kernelTimeMs === 'number') entry.ms += k.kernelTimeMs;
      byName.set(k.name, entry);
    }
    return {
      backend: tf.getBackend(),
      kernels: kernels.length,
      timing,
      byName: [...byName]
        .map(([name, e]) => ({ name, count: e.count, ms: timing === 'none' ? null : e.ms }))
        .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0) || b.count - a.count || a.name.localeCompare(b.name)),
    };
  } finally {
    x.dispose();
  }
}
