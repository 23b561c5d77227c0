import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { FpsUnreachableError, selectForFps, type FpsSelection } from '../../src/core/compress/fps-budget';
import { parseBudget } from '../../src/core/compress/budget';
import { pruneModel, smallestMacsShare } from '../../src/core/compress/prune';
import { readChannelGraph, type ChannelGraph } from '../../src/core/graph/channel-graph';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { costModelMeasurer, costModelMs, type CostModel } from './cost-model';

// Latencies come from a cost model, never from the clock: the search's decisions are then a
// function of the model alone, and every expectation below is exact on any machine.
const COST: CostModel = { macsPerMs: 2e6, msPerLayer: 0.05 };
const SIZE: [number, number] = [48, 48];
const SHAPE = [1, 48, 48, 3];
const MARGIN = 1.05;

let model: tf.LayersModel;
let graph: ChannelGraph;

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
  model = buildGenerator(defaultSpec('resnet', { ngf: 16, depth: 2, size: null, seed: 3 }));
  graph = readChannelGraph(model);
});

/** The target FPS whose latency bound (with the search's margin) is `ms`. */
const fpsFor = (ms: number) => 1000 / (ms * MARGIN);

/** Checks the search's invariants on its own record of what it measured. */
function checkSearch(found: FpsSelection, targetFps: number, steps = 4) {
  const targetMs = 1000 / (targetFps * MARGIN);
  const keeps = found.tries.map((t) => t.keep);
  const fast = (k: number) => found.tries.find((t) => t.keep === k)!.medianMs <= targetMs;
  // The original first, then halving until the first fast candidate (the bracket).
  expect(keeps[0]).toBe(1);
  const firstFast = keeps.findIndex(fast);
  for (let i = 1; i <= firstFast; i++) expect(keeps[i]).toBeCloseTo(keeps[i - 1] / 2, 12);
  // Then bisection on the log share: each point is the geometric mean of the current bracket.
  let [slow, quick] = [keeps[firstFast - 1], keeps[firstFast]];
  const bisections = keeps.slice(firstFast + 1);
  expect(bisections.length).toBeLessThanOrEqual(steps);
  for (const k of bisections) {
    expect(k).toBeCloseTo(Math.sqrt(slow * quick), 12);
    if (fast(k)) quick = k;
    else slow = k;
  }
  // It stops when the bracket is narrow or the steps are used up.
  expect(bisections.length === steps || slow / quick <= 1.05).toBe(true);
  // The largest fast share is kept; everything measured with more MACs was slow.
  expect(found.keep).toBe(quick);
  expect(found.latency.medianMs).toBeLessThanOrEqual(targetMs);
  for (const t of found.tries) if (t.keep > found.keep) expect(t.medianMs).toBeGreaterThan(targetMs);
  expect(found.tries.find((t) => t.keep === found.keep)!.medianMs).toBe(found.latency.medianMs);
}

describe('FPS budgets', () => {
  it('parse with an optional resolution and refuse nonsense', () => {
    expect(parseBudget('fps=30')).toEqual({ kind: 'fps', fps: 30, size: null });
    expect(parseBudget('fps=12.5@256')).toEqual({ kind: 'fps', fps: 12.5, size: 256 });
    expect(() => parseBudget('fps=0')).toThrow('An FPS budget must be in (0, 1000]');
    expect(() => parseBudget('fps=30@4')).toThrow("resolution must be at least 8 px");
    expect(() => parseBudget('fast')).toThrow('fps=30');
  });

  it('keeps the largest measured MACs share that meets the target; the chosen model is the one measured', async () => {
    const baseMs = costModelMs(model, SHAPE, COST);
    const target = fpsFor(baseMs / 3);
    const measure = costModelMeasurer(COST);
    const found = await selectForFps(graph, target, SIZE, { measure });
    checkSearch(found, target);
    expect(measure.calls).toBe(found.tries.length);
    // Three times faster needs more than halving; within the bisection's resolution of the threshold.
    expect(found.keep).toBeLessThan(0.5);
    expect(found.removed.size).toBeGreaterThan(0);
    // The removed groups give exactly the model that was measured.
    const pruned = await pruneModel(graph, found.removed);
    expect(costModelMs(pruned, SHAPE, COST)).toBe(found.latency.medianMs);
    expect(pruned.countParams()).toBeLessThan(model.countParams());
    pruned.dispose();
  });

  it('a target the original already meets keeps the original after one measurement', async () => {
    const target = fpsFor(costModelMs(model, SHAPE, COST) * 1.01);
    const found = await selectForFps(graph, target, SIZE, { measure: costModelMeasurer(COST) });
    expect(found.keep).toBe(1);
    expect(found.removed.size).toBe(0);
    expect(found.tries.map((t) => t.keep)).toEqual([1]);
  });

  it('a target just below the original brackets at one half and bisects at most `steps` times', async () => {
    const target = fpsFor(costModelMs(model, SHAPE, COST) * 0.9);
    const found = await selectForFps(graph, target, SIZE, { measure: costModelMeasurer(COST), steps: 2 });
    checkSearch(found, target, 2);
    expect(found.tries.slice(0, 2).map((t) => t.keep)).toEqual([1, 0.5]);
    expect(found.tries).toHaveLength(4);
  });

  it('with ±30% noise in every measurement the invariants still hold on what was measured', async () => {
    const target = fpsFor(costModelMs(model, SHAPE, COST) / 4);
    for (const seed of [1, 2, 3, 4, 5]) {
      const found = await selectForFps(graph, target, SIZE, { measure: costModelMeasurer({ ...COST, noise: 0.3, seed }) });
      checkSearch(found, target);
    }
  });

  it('an unreachable target stops at the smallest prunable model and says how fast it runs', async () => {
    const floor = smallestMacsShare(graph, SIZE) * 1.0001;
    const error = await selectForFps(graph, 1000, SIZE, { measure: costModelMeasurer({ macsPerMs: 1, msPerLayer: 1 }) }).catch((e) => e);
    expect(error).toBeInstanceOf(FpsUnreachableError);
    expect(error.message).toMatch(/^1000 FPS at 48x48 is out of reach on cost-model: the smallest model pruning can make \([\d.]+% of the MACs\) runs at [\d.]+ FPS here$/);
    expect(error.message).toContain(`(${(floor * 100).toFixed(1)}% of the MACs)`);
  });
});
