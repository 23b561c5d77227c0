import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { FpsUnreachableError, selectForFps } from '../../src/core/compress/fps-budget';
import { parseBudget, pruneModel } from '../../src/core/compress/prune';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { measureLatency } from '../../src/core/measure/latency';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('FPS budgets', () => {
  it('parse with an optional resolution and refuse nonsense', () => {
    expect(parseBudget('fps=30')).toEqual({ kind: 'fps', fps: 30, size: null });
    expect(parseBudget('fps=12.5@256')).toEqual({ kind: 'fps', fps: 12.5, size: 256 });
    expect(() => parseBudget('fps=0')).toThrow('An FPS budget must be in (0, 1000]');
    expect(() => parseBudget('fps=30@4')).toThrow("resolution must be at least 8 px");
    expect(() => parseBudget('fast')).toThrow('fps=30');
  });

  it('the search keeps the largest measured MACs share that meets the target, and the chosen model is the one measured', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 16, depth: 2, size: null, seed: 3 }));
    const graph = readChannelGraph(model);
    const size: [number, number] = [48, 48];
    const base = await measureLatency(model, [1, 48, 48, 3], { runs: 5 });
    const target = base.fps * 2;
    const found = await selectForFps(graph, target, size, { runs: 3 });
    const targetMs = 1000 / (target * 1.05);
    expect(found.keep).toBeLessThan(1);
    expect(found.removed.size).toBeGreaterThan(0);
    expect(found.latency.medianMs).toBeLessThanOrEqual(targetMs);
    // Every candidate that kept more was measured slower than the target (the search's invariant).
    for (const t of found.tries) if (t.keep > found.keep) expect(t.medianMs).toBeGreaterThan(targetMs);
    expect(found.tries.find((t) => t.keep === found.keep)!.medianMs).toBe(found.latency.medianMs);
    const pruned = await pruneModel(graph, found.removed);
    expect(pruned.countParams()).toBeLessThan(model.countParams());
    pruned.dispose();
    model.dispose();
  });

  it('an unreachable target says how fast the smallest model runs', async () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 8, depth: 1, size: null, seed: 3 }));
    const error = await selectForFps(readChannelGraph(model), 1000, [256, 256], { runs: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(FpsUnreachableError);
    expect(error.message).toMatch(/^1000 FPS at 256x256 is out of reach on wasm: the smallest model pruning can make \([\d.]+% of the MACs\) runs at [\d.]+ FPS here$/);
    model.dispose();
  });
});
