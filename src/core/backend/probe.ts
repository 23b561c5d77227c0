/**
 * The backend probe: starts each candidate backend in turn and times the same small ResNet
 * generator (6 blocks, 8 base filters) forward at 64 and 128 px and one training step at 64 px.
 * A few hundred milliseconds on WASM; a backend far slower than the best so far at its first
 * forward is not measured further (a software GPU would otherwise cost many seconds).
 * What is started and what is timed are injectable, so the bookkeeping is tested without clocks.
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../graph/channel-graph';
import { modelCost } from '../measure/cost';
import { measureLatency } from '../measure/latency';
import { buildGenerator, defaultSpec } from '../models/zoo';
import { describeBackend, initBackend, type BackendInfo, type BackendName, type BackendOptions } from './index';
import { isSoftwareAdapter, type BackendFigures, type ProbeResult } from './choice';

export const PROBE_SIDES = [64, 128];

/** Timed work on the backend just started. */
export interface ProbeBench {
  /** Median of `runs` timed forwards after `warmup` untimed ones. */
  forwardMs(side: number, runs: number, warmup: number): Promise<number>;
  trainStepMs(side: number): Promise<number>;
  dispose(): void;
}

export interface ProbeOptions extends Pick<BackendOptions, 'wasmPaths' | 'wasmThreads'> {
  /** In the order to measure (the first sets the pace for the early stop). */
  candidates: BackendName[];
  /** Measured only when no candidate could be (tfjs's plain-JavaScript cpu backend). */
  fallback?: BackendName;
  key: string;
  start?: (name: BackendName) => Promise<BackendInfo>;
  bench?: () => ProbeBench;
  /** A backend whose first forward takes more than this many times the fastest so far stops there. */
  stopRatio?: number;
  now?: () => number;
}

const PROBE_SPEC = defaultSpec('resnet', { ngf: 8, depth: 6, size: null });

/** MACs of one probe forward at each probe side. */
export function probeMacs(): Record<number, number> {
  const model = buildGenerator(PROBE_SPEC);
  try {
    const graph = readChannelGraph(model);
    return Object.fromEntries(PROBE_SIDES.map((s) => [s, modelCost(graph, [s, s]).macs]));
  } finally {
    model.dispose();
  }
}

/** The probe generator on the current backend. */
export function generatorBench(): ProbeBench {
  const model = buildGenerator(PROBE_SPEC);
  return {
    async forwardMs(side, runs, warmup) {
      return (await measureLatency(model, [1, side, side, 3], { warmup, runs })).medianMs;
    },
    async trainStepMs(side) {
      const optimizer = tf.train.adam(1e-4);
      const [x, y] = [tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 1), tf.randomUniform([1, side, side, 3], -1, 1, 'float32', 2)];
      const step = async () => {
        const t0 = performance.now();
        const loss = optimizer.minimize(() => tf.mean(tf.abs(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar, true)!;
        await loss.data();
        loss.dispose();
        return performance.now() - t0;
      };
      try {
        await step();
        const times = [await step(), await step(), await step()];
        return Math.min(...times);
      } finally {
        tf.dispose([x, y]);
        optimizer.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

export async function probeBackends(o: ProbeOptions): Promise<ProbeResult> {
  const now = o.now ?? (() => performance.now());
  const start = o.start ?? ((name: BackendName) => initBackend({ prefer: name, wasmPaths: o.wasmPaths, wasmThreads: o.wasmThreads, why: 'probe' }));
  const bench = o.bench ?? generatorBench;
  const stopRatio = o.stopRatio ?? 10;
  const [small, ...larger] = PROBE_SIDES;
  const t0 = now();
  const backends: BackendFigures[] = [];
  let macs: Record<number, number> = {};
  const measured = () => backends.some((f) => f.forwardMs[small] != null && !f.failed);
  for (const name of [...o.candidates, ...(o.fallback ? [o.fallback] : [])]) {
    if (name === o.fallback && measured()) {
      backends.push({ name, forwardMs: {}, stopped: `not measured: a fallback, measured only when ${o.candidates.join(' and ')} cannot run` });
      continue;
    }
    let info: BackendInfo;
    try {
      info = await start(name);
    } catch (e) {
      backends.push({ name, failed: (e as Error).message, forwardMs: {} });
      continue;
    }
    const figures: BackendFigures = { name, described: describeBackend(info), software: info.adapter ? isSoftwareAdapter(info.adapter) : undefined, forwardMs: {} };
    backends.push(figures);
    if (!Object.keys(macs).length) macs = probeMacs();
    const b = bench();
    try {
      // One timed forward after warm-ups (which compile shaders, grow memory) decides whether to go on.
      figures.forwardMs[small] = await b.forwardMs(small, 1, 2);
      const fastest = backends.filter((f) => f !== figures && f.forwardMs[small] != null && !f.stopped).sort((p, q) => p.forwardMs[small] - q.forwardMs[small])[0];
      const ratio = fastest ? figures.forwardMs[small] / fastest.forwardMs[small] : 1;
      if (ratio > stopRatio) {
        figures.stopped = `not measured further: a forward took ${Math.round(ratio)}x ${fastest.name}'s`;
        continue;
      }
      figures.forwardMs[small] = await b.forwardMs(small, 5, 0);
      for (const side of larger) figures.forwardMs[side] = await b.forwardMs(side, 5, 1);
      figures.trainStepMs = await b.trainStepMs(small);
    } catch (e) {
      figures.failed = `it started but failed the probe: ${(e as Error).message}`;
    } finally {
      b.dispose();
    }
  }
  return { key: o.key, measuredAt: Date.now(), costMs: now() - t0, macs, backends };
}
