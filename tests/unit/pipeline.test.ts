import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { ImageDataset, trainingSets } from '../../src/core/data/dataset';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { DEFAULT_SPEC, PipelineStopped, runPipeline, type Progress, type RunSpec } from '../../src/core/compress/pipeline';
import { MemoryCheckpointStore, type CheckpointStore } from '../../src/core/io/checkpoint';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { DirCheckpointStore } from '../../src/cli/dir-store';
import { costModelMeasurer, costModelMs } from './cost-model';

const SIZE = 16;
let train: ImageDataset;
let test: ImageDataset;
let unpairedTrain: ImageDataset;

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
  const { inputs, targets } = syntheticShapes(10, SIZE, 3);
  ({ train, test } = trainingSets(inputs, targets, { size: SIZE, range: '-1,1', heldOut: 3 }));
  unpairedTrain = new ImageDataset(train.inputs, null, '-1,1', train.names);
});

function spec(overrides: Partial<RunSpec> = {}): RunSpec {
  return {
    ...DEFAULT_SPEC,
    size: SIZE,
    steps: { train: 0, condense: 8, distill: 6 },
    checkpointEvery: 3,
    latencyRuns: 2,
    sparsity: 3,
    ...overrides,
  };
}

const model = () => buildGenerator(defaultSpec('resnet', { ngf: 4, size: SIZE, depth: 1, seed: 5 }));

async function run(s: RunSpec, store: CheckpointStore, extra: { onProgress?: (p: Progress) => void; shouldStop?: () => boolean; data?: ImageDataset } = {}) {
  const result = await runPipeline({ spec: s, model: model(), train: extra.data ?? train, test, store, backend: 'wasm', device: 'test', ...extra });
  expect(result.report).not.toBeNull();
  return { student: result.student, report: result.report! };
}

async function weightsOf(m: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(m.getWeights().map((w) => w.data() as Promise<Float32Array>));
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

class Killed extends Error {}

describe('resumable pipeline', () => {
  it('a run killed between checkpoints resumes to the same final weights (1e-5)', async () => {
    // With the training recipe's moving parts: batches, warm-up + cosine decay, weight EMA.
    const s = spec({ steps: { train: 4, condense: 8, distill: 6 }, batchSize: 2, schedule: { warmup: 0.25, decay: 'cosine' }, beta1: 0.9, ema: 0.9 });
    const reference = await run(s, new MemoryCheckpointStore());
    const expected = await weightsOf(reference.student);

    // Kill mid-stage, after unsaved steps, in every training stage: the last checkpoint is older.
    const store = new DirCheckpointStore(mkdtempSync(path.join(tmpdir(), 'alap-ckpt-')));
    const kills = [
      ['train', 2],
      ['condense', 5],
      ['distill', 4],
    ] as const;
    for (const [stage, step] of kills) {
      await expect(
        run(s, store, {
          onProgress: (p) => {
            if (p.stage === stage && p.step === step) throw new Killed();
          },
        }),
      ).rejects.toBeInstanceOf(Killed);
    }
    const resumed = await run(s, store);
    expect(maxDiff(await weightsOf(resumed.student), expected)).toBeLessThan(1e-5);
    expect(resumed.report.macs.after).toBe(reference.report.macs.after);
  });

  it('a stop request checkpoints at once and resumes from that step', async () => {
    const s = spec();
    const store = new MemoryCheckpointStore();
    let steps = 0;
    const stopped = run(s, store, { shouldStop: () => ++steps === 4 });
    await expect(stopped).rejects.toBeInstanceOf(PipelineStopped);
    const seen: string[] = [];
    const result = await run(s, store, { onProgress: (p) => seen.push(`${p.stage}:${p.step}`) });
    expect(seen[0]).toBe('condense:5');
    const reference = await run(s, new MemoryCheckpointStore());
    expect(maxDiff(await weightsOf(result.student), await weightsOf(reference.student))).toBeLessThan(1e-5);
  });
});

describe('progress', () => {
  it('reports losses, alive channels, ETA and sample images of a held-out example', async () => {
    const seen: Progress[] = [];
    await run(spec({ sampleEvery: 4 }), new MemoryCheckpointStore(), { onProgress: (p) => seen.push(p) });
    const withSamples = seen.filter((p) => p.samples);
    expect(withSamples.map((p) => `${p.stage}:${p.step}`)).toEqual(['condense:4', 'condense:8', 'distill:4', 'distill:6']);
    const s = withSamples[0].samples!;
    expect([s.width, s.height]).toEqual([SIZE, SIZE]);
    for (const img of [s.input, s.reference!, s.output]) {
      expect(img).toHaveLength(SIZE * SIZE * 4);
      expect(img[3]).toBe(255);
    }
    expect(seen.find((p) => p.alive)!.alive!.every((a) => a.alive <= a.total && a.alive >= 1)).toBe(true);
    expect(seen.every((p) => p.etaSeconds >= 0 && Number.isFinite(p.etaSeconds))).toBe(true);
    expect(seen[seen.length - 1].etaSeconds).toBe(0);
  });
});

describe('FPS budget', () => {
  it('condenses toward the measured MACs share, prunes by measured search and reports target vs achieved at the budget resolution', async () => {
    // Latency from a cost model, not the clock, so what the search decides is exact on any machine.
    const cost = { macsPerMs: 2e6, msPerLayer: 0.05 };
    const base = buildGenerator(defaultSpec('resnet', { ngf: 16, size: null, depth: 2, seed: 5 }));
    const target = Math.round(1000 / costModelMs(base, [1, 48, 48, 3], cost)) * 2;
    const s = spec({ budget: `fps=${target}@48`, steps: { train: 0, condense: 4, distill: 2 } });
    const measureLatency = costModelMeasurer(cost);
    const result = await runPipeline({ spec: s, model: base, train, test, store: new MemoryCheckpointStore(), backend: 'wasm', device: 'test', measureLatency });
    const fps = result.report!.fps!;
    expect(fps.target).toBe(target);
    expect(fps.size).toBe(48);
    expect(fps.after.inputShape).toEqual([1, 48, 48, 3]);
    expect(fps.before.inputShape).toEqual([1, 48, 48, 3]);
    // Bracket (1, 1/2, 1/4 at least) and bisection on the condensed model.
    expect(fps.search.slice(0, 3).map((t) => t.keep)).toEqual([1, 0.5, 0.25]);
    // The student is the candidate the search chose: the largest share measured fast enough...
    const chosen = fps.search.filter((t) => t.medianMs <= 1000 / (target * 1.05)).reduce((a, b) => (b.keep > a.keep ? b : a));
    expect(result.report!.macs.after / result.report!.macs.before).toBeCloseTo(chosen.keep, 1);
    // ...so re-measured after distillation it costs exactly what that candidate did, and meets the target.
    expect(fps.after.medianMs).toBe(chosen.medianMs);
    expect(fps.met).toBe(true);
    expect(result.report!.latency.after.medianMs).toBe(costModelMs(result.student, [1, SIZE, SIZE, 3], cost));
    result.student.dispose();
  });
});

describe('stages', () => {
  it('condensation zeroes whole groups; pruning them alone keeps the condensed output', async () => {
    const s = spec({ steps: { train: 0, condense: 12, distill: 0 }, sparsity: 6 });
    const dead: number[] = [];
    const { student, report } = await run(s, new MemoryCheckpointStore(), { onProgress: (p) => p.deadGroups !== undefined && dead.push(p.deadGroups) });
    expect(dead[dead.length - 1]).toBeGreaterThan(0);
    expect(report.removedGroups).toBe(dead[dead.length - 1]);
    expect(report.macs.after).toBeLessThan(report.macs.before);
    expect(student.countParams()).toBe(report.params.after);
    // Every conv layer keeps at least one channel.
    for (const l of readChannelGraph(student).layers.filter((x) => x.role === 'source')) expect(l.channels.length).toBeGreaterThan(0);
  });

  it('without targets, condensation follows the original model and distillation the teacher', async () => {
    const s = spec({ budget: 'macs=0.5' });
    const stages = new Set<string>();
    const losses: Record<string, number>[] = [];
    const { report } = await run(s, new MemoryCheckpointStore(), {
      data: unpairedTrain,
      onProgress: (p) => {
        stages.add(p.stage);
        losses.push(p.losses);
      },
    });
    expect([...stages]).toEqual(['condense', 'distill']);
    expect(losses.every((l) => Number.isFinite(l.total) && l.groundTruth === undefined)).toBe(true);
    expect(report.macs.after).toBeLessThanOrEqual(report.macs.before * 0.5);
    expect(report.studentVsOriginal.psnr).toBeGreaterThan(0);
    expect(report.vsTargets).toBeDefined(); // the held-out set still has targets
  });

  it('distillation with feature matching, ground truth and an adversarial term leaks no tensors', async () => {
    const s = spec({ loss: { output: 1, ssim: 0.2, feature: 1, groundTruth: 1, adversarial: 0.1 }, steps: { train: 0, condense: 4, distill: 8 } });
    const counts: Record<string, number[]> = {};
    let terms: string[] = [];
    await run(s, new MemoryCheckpointStore(), {
      onProgress: (p) => {
        (counts[p.stage] ??= []).push(tf.memory().numTensors);
        if (p.stage === 'distill') terms = Object.keys(p.losses);
      },
    });
    expect(terms).toEqual(expect.arrayContaining(['output', 'ssim', 'feature', 'groundTruth', 'adversarial', 'disc_total']));
    for (const stage of ['condense', 'distill']) {
      const c = counts[stage];
      // From the second step on (the optimizer's slots exist then), across checkpoints.
      expect(new Set(c.slice(1)).size).toBe(1);
    }
  });

  it('settings that make the loss overflow stop the run with a clear message, resumable from its last checkpoint', async () => {
    const s = spec({ loss: { ...DEFAULT_SPEC.loss, output: 1e39 }, steps: { train: 0, condense: 6, distill: 0 } });
    const base = model();
    const before = tf.memory().numTensors;
    await expect(runPipeline({ spec: s, model: base, train, test, store: new MemoryCheckpointStore(), backend: 'wasm', device: 'test' })).rejects.toThrow(
      /^The loss became (Infinity|NaN): lower the learning rate or the loss weights$/,
    );
    // A failed run frees what it built (a worker lives on after it).
    expect(tf.memory().numTensors).toBe(before);
    base.dispose();
  });

  it('a long run keeps memory flat: tensors and bytes sampled over 300 steps with checkpoints and samples', { timeout: 400_000 }, async () => {
    const s = spec({ steps: { train: 100, condense: 100, distill: 100 }, task: 'compress', checkpointEvery: 25, sampleEvery: 20, budget: 'macs=0.5' });
    const samples: Record<string, { tensors: number; bytes: number }[]> = {};
    await run(s, new MemoryCheckpointStore(), { onProgress: (p) => (samples[p.stage] ??= []).push({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes }) });
    for (const stage of ['train', 'condense', 'distill']) {
      const after = samples[stage].slice(1);
      expect(after).toHaveLength(99);
      expect(new Set(after.map((x) => x.tensors)).size).toBe(1);
      expect(new Set(after.map((x) => x.bytes)).size).toBe(1);
    }
  });
});
