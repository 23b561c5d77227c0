import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { ImageDataset, trainingSets } from '../../src/core/data/dataset';
import { syntheticShapes } from '../../src/core/data/synthetic';
import { DEFAULT_SPEC, PipelineStopped, runPipeline, type PipelineOptions, type Progress, type RunSpec } from '../../src/core/compress/pipeline';
import { MemoryCheckpointStore, type CheckpointStore } from '../../src/core/io/checkpoint';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { DirCheckpointStore } from '../../src/cli/dir-store';
import { toRgba } from '../../src/core/measure/samples';
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

async function run(
  s: RunSpec,
  store: CheckpointStore,
  extra: { onProgress?: (p: Progress) => void; shouldStop?: () => boolean; data?: ImageDataset; measureThroughput?: PipelineOptions['measureThroughput'] } = {},
) {
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

describe('compression recipe', () => {
  it('a time budget sizes distillation at the speed measured on the pruned model, kept across a resume', async () => {
    const s = spec({ budget: 'macs=0.5', time: 100, steps: { train: 0, condense: 0, distill: 5 } });
    const measured: number[] = [];
    // A scripted measurer: 0.5 steps/s at any batch, so the steps depend on no clock but the run's own.
    const measureThroughput = (m: tf.LayersModel) => async (batch: number) => {
      measured.push(m.countParams());
      return batch * 0.5;
    };
    const store = new MemoryCheckpointStore();
    await expect(
      run(s, store, {
        measureThroughput,
        onProgress: (p) => {
          // After the checkpoint at step 3: the resumed run must not measure again.
          if (p.stage === 'distill' && p.step === 4) throw new Killed();
        },
      }),
    ).rejects.toBeInstanceOf(Killed);
    const distillSteps: number[] = [];
    const { report } = await run(s, store, { measureThroughput, onProgress: (p) => p.stage === 'distill' && distillSteps.push(p.steps) });
    // Measured once, on the pruned student (not the original), before the first distillation step.
    expect(measured).toHaveLength(1);
    expect(measured[0]).toBeLessThan(model().countParams() * 0.75);
    // (100 s - the time the run spent before distillation) * 0.5 steps/s, less the 5% reserve.
    const spent = report.seconds.prune! + (report.seconds.condense ?? 0);
    expect(report.distillSteps).toBeLessThanOrEqual(Math.floor(100 * 0.5 * 0.95));
    expect(report.distillSteps).toBeGreaterThanOrEqual(Math.floor((100 - spent - 30) * 0.5 * 0.95));
    expect(new Set(distillSteps)).toEqual(new Set([report.distillSteps]));
  });

  it('a model whose output is larger than its input (2x upsampler) compresses on unpaired images under a time budget', async () => {
    const input = tf.input({ shape: [null, null, 3] });
    let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.reLU({ name: 'r1' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(h) as tf.SymbolicTensor;
    const upsampler = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c2' }).apply(h) as tf.SymbolicTensor });
    const unpairedTest = new ImageDataset(test.inputs, null, '-1,1', test.names);
    const result = await runPipeline({
      spec: spec({ budget: 'macs=0.5', time: 3, steps: { train: 0, condense: 0, distill: 5 } }),
      model: upsampler,
      train: unpairedTrain,
      test: unpairedTest,
      store: new MemoryCheckpointStore(),
      backend: 'wasm',
      device: 'test',
    });
    expect(result.report!.distillSteps).toBeGreaterThanOrEqual(1);
    expect(result.report!.macs.after).toBeLessThanOrEqual(result.report!.macs.before * 0.5);
    expect(result.student.outputs[0].shape).toEqual([null, null, null, 3]);
    result.student.dispose();
    upsampler.dispose();
  });

  it('a distillation that leaves the student further from the teacher than pruning did is not kept', async () => {
    // A learning rate no model survives: the refitted student is what comes out.
    const s = spec({ budget: 'macs=0.5', steps: { train: 0, condense: 0, distill: 3 }, lr: { ...DEFAULT_SPEC.lr, distill: 50 }, schedule: { warmup: 0, decay: 'constant' } });
    const { report } = await run(s, new MemoryCheckpointStore());
    expect(report.distillReverted).toBe(true);
    expect(report.studentVsOriginal.psnr).toBeCloseTo(report.compensation!.refitted.psnr, 4);
    const sane = await run(spec({ budget: 'macs=0.5', steps: { train: 0, condense: 0, distill: 3 } }), new MemoryCheckpointStore());
    expect(sane.report.distillReverted).toBeUndefined();
  });

  it('selects by importance, refits after slicing and reports both; a run stored before these existed resumes without them', async () => {
    const s = spec({ budget: 'macs=0.5', steps: { train: 0, condense: 0, distill: 4 } });
    const { report } = await run(s, new MemoryCheckpointStore());
    expect(report.selection).toBe('importance');
    const c = report.compensation!;
    expect(c.layers).toBeGreaterThan(0);
    expect(c.errorAfter).toBeLessThanOrEqual(c.errorBefore);
    expect(Number.isFinite(c.sliced.psnr) && Number.isFinite(c.refitted.psnr)).toBe(true);
    expect(report.distillSteps).toBe(4);

    // A checkpoint (taken during condensation) whose spec predates the fields: the behaviour it started with.
    const store = new MemoryCheckpointStore();
    const killed = run({ ...s, steps: { train: 0, condense: 4, distill: 4 }, checkpointEvery: 2 }, store, {
      onProgress: (p) => {
        if (p.step === 3) throw new Killed();
      },
    });
    await expect(killed).rejects.toBeInstanceOf(Killed);
    const saved = (await store.load())!;
    const old = saved.state as { spec: Record<string, unknown> };
    for (const key of ['selection', 'compensate', 'teacherCache', 'time', 'schedule', 'beta1', 'ema']) delete old.spec[key];
    await store.save(saved);
    const resumed = await run(s, store);
    expect(resumed.report.stages).toContain('condense');
    expect(resumed.report.selection).toBe('magnitude');
    expect(resumed.report.compensation).toBeUndefined();
  });

  it('gradual pruning reaches the budget in rounds, each pruning the last student further, and resumes mid-round to the same weights', async () => {
    const s = spec({ budget: 'macs=0.3', pruneRounds: 3, steps: { train: 0, condense: 0, distill: 7 }, checkpointEvery: 1 });
    const seen: string[] = [];
    const reference = await run(s, new MemoryCheckpointStore(), { onProgress: (p) => seen.push(`${p.round?.at}/${p.round?.of}:${p.step}/${p.steps}`) });
    // 7 steps shared as 2 + 2 + 3, the round shown with every step.
    expect(seen).toEqual(['1/3:1/2', '1/3:2/2', '2/3:1/2', '2/3:2/2', '3/3:1/3', '3/3:2/3', '3/3:3/3']);
    const r = reference.report;
    expect(r.pruneRounds).toBe(3);
    expect(r.distillSteps).toBe(7);
    expect(r.macs.after / r.macs.before).toBeLessThanOrEqual(0.3);
    // The channels of every round count: more than one round's cut alone (0.3^(1/3) keeps 67%).
    const oneRound = await run(spec({ budget: `macs=${0.3 ** (1 / 3)}`, steps: { train: 0, condense: 0, distill: 2 } }), new MemoryCheckpointStore());
    expect(r.removedGroups).toBeGreaterThan(oneRound.report.removedGroups);
    expect(r.compensation!.layers).toBeGreaterThan(0);

    // Killed in the second round's distillation after a checkpoint: the resumed run ends identically.
    const store = new MemoryCheckpointStore();
    await expect(
      run(s, store, {
        onProgress: (p) => {
          if (p.round?.at === 2 && p.step === 2) throw new Killed();
        },
      }),
    ).rejects.toBeInstanceOf(Killed);
    const resumed = await run(s, store);
    expect(maxDiff(await weightsOf(resumed.student), await weightsOf(reference.student))).toBeLessThan(1e-5);
    expect(resumed.report.removedGroups).toBe(r.removedGroups);
  });

  it('under a time budget each round of gradual pruning takes its share of the time left, measured on its own student', async () => {
    const s = spec({ budget: 'macs=0.3', pruneRounds: 2, time: 100, steps: { train: 0, condense: 0, distill: 5 } });
    const measured: number[] = [];
    const measureThroughput = (m: tf.LayersModel) => async (batch: number) => {
      measured.push(m.countParams());
      return batch * 0.5;
    };
    const steps: number[] = [];
    const { report } = await run(s, new MemoryCheckpointStore(), { measureThroughput, onProgress: (p) => p.step === 1 && steps.push(p.steps) });
    expect(measured).toHaveLength(2);
    expect(measured[1]).toBeLessThan(measured[0]);
    // Round 1 gets half of what is left (at most 100 / 2 s * 0.5 steps/s, less the 5% reserve),
    // round 2 all that is left then (whatever the machine's speed, at most the whole budget's steps).
    expect(steps[0]).toBeLessThanOrEqual(Math.floor(50 * 0.5 * 0.95));
    expect(steps[1]).toBeGreaterThanOrEqual(1);
    expect(steps[1]).toBeLessThanOrEqual(Math.floor(100 * 0.5 * 0.95));
    expect(report.distillSteps).toBe(steps[0] + steps[1]);
  });
});

describe('condensation by decay', () => {
  it('drives the selected groups to exactly zero while training, prunes exactly those, and distils from the original', async () => {
    const s = spec({ budget: 'macs=0.5', steps: { train: 0, condense: 10, distill: 3 }, condensation: 'decay' });
    const scales: number[] = [];
    let teacherSample: Uint8ClampedArray | null = null;
    const { student, report } = await run(s, new MemoryCheckpointStore(), {
      onProgress: (p) => {
        if (p.stage === 'condense') scales.push(p.decayingScale!);
        if (p.stage === 'distill' && p.samples) teacherSample = p.samples.reference;
      },
    });
    // The reference distillation shows for the first held-out image is the original's output.
    const original = model();
    const fromOriginal = await toRgba(original.predict(tf.slice(test.inputs, 0, 1)) as tf.Tensor4D, '-1,1');
    expect(teacherSample).toEqual(fromOriginal);
    original.dispose();
    // 1 -> 0 linearly over 60% of the 10 steps, then held at zero.
    expect(scales.map((v) => Number(v.toFixed(3)))).toEqual([0.833, 0.667, 0.5, 0.333, 0.167, 0, 0, 0, 0, 0]);
    expect(report.macs.after).toBeLessThanOrEqual(report.macs.before * 0.5);
    // The groups were already zero: slicing changes nothing, so there is nothing to refit.
    expect(report.compensation).toBeUndefined();
    expect(student.countParams()).toBe(report.params.after);
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
  // prox condenses toward the MACs share measured on the original, then searches the condensed
  // model; decay drives exactly the groups of the candidate measured on the original to zero.
  it.each(['prox', 'decay'] as const)('%s: the student is the measured candidate that meets it, reported as target vs achieved at the budget resolution', async (condensation) => {
    // Latency from a cost model, not the clock, so what the search decides is exact on any machine.
    const cost = { macsPerMs: 2e6, msPerLayer: 0.05 };
    const base = buildGenerator(defaultSpec('resnet', { ngf: 16, size: null, depth: 2, seed: 5 }));
    const target = Math.round(1000 / costModelMs(base, [1, 48, 48, 3], cost)) * 2;
    const s = spec({ budget: `fps=${target}@48`, steps: { train: 0, condense: 4, distill: 2 }, condensation });
    const measureLatency = costModelMeasurer(cost);
    const result = await runPipeline({ spec: s, model: base, train, test, store: new MemoryCheckpointStore(), backend: 'wasm', device: 'test', measureLatency });
    const fps = result.report!.fps!;
    expect(fps.target).toBe(target);
    expect(fps.size).toBe(48);
    expect(fps.after.inputShape).toEqual([1, 48, 48, 3]);
    expect(fps.before.inputShape).toEqual([1, 48, 48, 3]);
    // Bracket (1, 1/2, 1/4 at least) and bisection.
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
  it.each(['l1', 'mse'] as const)('the output term is the spec\'s pixel distance (%s) to the reference, in units of half the range', async (pixelLoss) => {
    // One training image, no flips or crops: the first step's batch is exactly that image.
    const image = new ImageDataset(train.inputs.slice([0, 0, 0, 0], [1, SIZE, SIZE, 3]), train.targets!.slice([0, 0, 0, 0], [1, SIZE, SIZE, 3]), '-1,1', ['a']);
    const m = model();
    const diff = tf.tidy(() => tf.sub(m.predict(image.inputs) as tf.Tensor, image.targets!));
    const expected = (await (pixelLoss === 'mse' ? tf.mean(tf.square(diff)) : tf.mean(tf.abs(diff))).data())[0];
    const seen: Progress[] = [];
    const s = spec({ task: 'train', pixelLoss, batchSize: 1, flip: false, jitter: 0, steps: { train: 1, condense: 0, distill: 0 } });
    const result = await runPipeline({ spec: s, model: m, train: image, test, store: new MemoryCheckpointStore(), backend: 'wasm', device: 'test', onProgress: (p) => seen.push(p) });
    expect(seen.find((p) => p.stage === 'train' && p.step === 1)!.losses.output).toBeCloseTo(expected, 5);
    [diff, image, result.student].forEach((x) => x.dispose());
  });

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
