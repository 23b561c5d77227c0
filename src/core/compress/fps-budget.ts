/**
 * Device-targeted pruning: "run at F frames per second here at R x R". MACs are not time (thin
 * layers, full-resolution norms and transposed convolutions cost more per MAC than the trunk), so
 * the amount to remove is found by measurement: candidate models pruned to a MACs share are built
 * and timed (on the current backend unless another measurer is given), and a bisection finds the
 * largest share (the most capacity kept) whose measured latency meets the target with a small
 * margin. Which channels go is decided as for a MACs budget (weakest groups first).
 */
import type { ChannelGraph } from '../graph/channel-graph';
import { foldedMeasurer, timedMeasurer, type Latency, type LatencyMeasurer } from '../measure/latency';
import { pruneModel, selectGroups, smallestMacsShare } from './prune';

export interface FpsTry {
  /** MACs share kept. */
  keep: number;
  medianMs: number;
  fps: number;
}

export interface FpsSelection {
  removed: Set<number>;
  keep: number;
  /** The chosen candidate's measured latency. */
  latency: Latency;
  targetFps: number;
  tries: FpsTry[];
}

export interface FpsSearchOptions {
  /** How each candidate's latency is obtained; default: timed here (batch norms folded), 3 warm-up + 9 timed runs. */
  measure?: LatencyMeasurer;
  /** Bisection steps after the bracket is found. */
  steps?: number;
  /** The candidate must reach fps * (1 + margin): re-measurements vary by a few percent. */
  margin?: number;
  onTry?: (t: FpsTry) => void;
  /** The groups to remove for a MACs share; default: selectGroups' magnitude ranking. */
  select?: (keep: number) => Promise<Set<number>>;
}

export class FpsUnreachableError extends Error {}

export async function selectForFps(graph: ChannelGraph, fps: number, size: [number, number], o: FpsSearchOptions = {}): Promise<FpsSelection> {
  const inputShape = [1, size[0], size[1], graph.layers[0].channels.length];
  const targetMs = 1000 / (fps * (1 + (o.margin ?? 0.05)));
  const tries: FpsTry[] = [];
  const cache = new Map<number, { removed: Set<number>; latency: Latency }>();
  const measureLatency = o.measure ?? foldedMeasurer(timedMeasurer({ runs: 9, warmup: 3 }));
  const measure = async (keep: number) => {
    const select = o.select ?? (async (k: number) => (await selectGroups(graph, { kind: 'macs', keep: k }, size)).removed);
    const removed = keep < 1 ? await select(keep) : new Set<number>();
    const candidate = removed.size ? await pruneModel(graph, removed) : graph.model;
    try {
      const latency = await measureLatency(candidate, inputShape);
      const t = { keep, medianMs: latency.medianMs, fps: latency.fps };
      tries.push(t);
      o.onTry?.(t);
      cache.set(keep, { removed, latency });
      return latency.medianMs <= targetMs;
    } finally {
      if (candidate !== graph.model) candidate.dispose();
    }
  };
  const result = (keep: number): FpsSelection => ({ ...cache.get(keep)!, keep, targetFps: fps, tries });

  if (await measure(1)) return result(1);
  const floor = smallestMacsShare(graph, size) * 1.0001;
  // Bracket: halve the share until a candidate is fast enough (or the floor is not).
  let slow = 1;
  let fast = 0;
  for (let keep = 0.5; ; keep /= 2) {
    const k = Math.max(keep, floor);
    if (await measure(k)) {
      fast = k;
      break;
    }
    slow = k;
    if (k === floor) {
      const best = cache.get(floor)!.latency;
      throw new FpsUnreachableError(
        `${fps} FPS at ${size[0]}x${size[1]} is out of reach on ${best.backend}: the smallest model pruning can make (${(floor * 100).toFixed(1)}% of the MACs) runs at ${best.fps.toFixed(1)} FPS here`,
      );
    }
  }
  // Bisect on the log of the share: the largest share that is still fast enough.
  for (let i = 0; i < (o.steps ?? 4) && slow / fast > 1.05; i++) {
    const mid = Math.sqrt(slow * fast);
    if (await measure(mid)) fast = mid;
    else slow = mid;
  }
  return result(fast);
}
