/**
 * Evidence for the compression pipeline, on a paired task the repo generates itself (shapes ->
 * painting): trains a base CycleGAN-style ResNet generator, compresses it to a MACs budget, and
 * prints one table with the ablations the paper reports (no condensation = magnitude pruning of the
 * base, teacher = original, no distillation). Latency is measured side by side in this run on
 * the wasm backend at --latency-size.
 *
 *   npx tsx bench/compress-bench.ts [--quick] [--size 64] [--ngf 32] [--blocks 9]
 *     [--train-steps 1500] [--condense 600] [--distill 900] [--budget macs=0.05]
 *     [--latency-size 256] [--out bench/results]
 */
import { log, setting } from './common';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/core/backend';
import { trainingSets } from '../src/core/data/dataset';
import { syntheticShapes } from '../src/core/data/synthetic';
import { DEFAULT_SPEC, runPipeline, type RunReport, type RunSpec } from '../src/core/compress/pipeline';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { modelCost } from '../src/core/measure/cost';
import { measureLatency, type Latency } from '../src/core/measure/latency';
import { predictAll, quality } from '../src/core/measure/quality';
import { buildGenerator, defaultSpec } from '../src/core/models/zoo';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    size: { type: 'string' },
    ngf: { type: 'string' },
    blocks: { type: 'string' },
    'train-steps': { type: 'string' },
    condense: { type: 'string' },
    distill: { type: 'string' },
    budget: { type: 'string' },
    'latency-size': { type: 'string' },
    images: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = Boolean(values.quick);
const n = setting(values, quick);
const cfg = {
  size: n('size', 64, 32),
  ngf: n('ngf', 32, 8),
  blocks: n('blocks', 9, 2),
  trainSteps: n('train-steps', 1500, 40),
  condense: n('condense', 600, 20),
  distill: n('distill', 900, 20),
  budget: values.budget ?? 'macs=0.05',
  latencySize: n('latency-size', 256, 64),
  images: n('images', 200, 24),
  heldOut: quick ? 4 : 16,
};
const outDir = values.out ?? (quick ? path.join('scratch', 'bench-quick') : path.join('bench', 'results'));

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });
log(`backend ${describeBackend(info)}; config ${JSON.stringify(cfg)}`);

const { inputs, targets } = syntheticShapes(cfg.images, cfg.size, 1);
const { train, test } = trainingSets(inputs, targets, { size: cfg.size, range: '-1,1', heldOut: cfg.heldOut });

const spec = (overrides: Partial<RunSpec>): RunSpec => ({
  ...DEFAULT_SPEC,
  size: cfg.size,
  steps: { train: 0, condense: cfg.condense, distill: cfg.distill },
  budget: cfg.budget,
  latencyRuns: 3,
  checkpointEvery: 1_000_000,
  loss: { ...DEFAULT_SPEC.loss, groundTruth: 0 },
  ...overrides,
});

function progress(label: string) {
  let last = 0;
  return (p: { stage: string; step: number; steps: number; losses: Record<string, number>; deadGroups?: number; etaSeconds: number }) => {
    if (performance.now() - last < 30_000 && p.step !== p.steps) return;
    last = performance.now();
    log(`${label} ${p.stage} ${p.step}/${p.steps} loss ${p.losses.total?.toFixed(4)} ${p.deadGroups !== undefined ? `dead ${p.deadGroups} ` : ''}eta ${p.etaSeconds.toFixed(0)}s`);
  };
}

// Base model: size-free, so it can be timed at any resolution.
const t0 = performance.now();
const fresh = buildGenerator(defaultSpec('resnet', { ngf: cfg.ngf, depth: cfg.blocks, size: null, seed: 1 }));
const trained = await runPipeline({
  spec: spec({ task: 'train', steps: { train: cfg.trainSteps, condense: 0, distill: 0 } }),
  model: fresh,
  train,
  test,
  store: new MemoryCheckpointStore(),
  backend: describeBackend(info),
  device: 'bench',
  onProgress: progress('base'),
});
const base = trained.student;
const baseSeconds = (performance.now() - t0) / 1000;
log(`base trained in ${baseSeconds.toFixed(0)} s`);

const latencyShape = [1, cfg.latencySize, cfg.latencySize, 3];
const latencyOf = (m: tf.LayersModel) => measureLatency(m, latencyShape, { warmup: 2, runs: quick ? 3 : 10 });
const macsAt = (m: tf.LayersModel) => modelCost(readChannelGraph(m), [cfg.latencySize, cfg.latencySize]);
const baseLatency = await latencyOf(base);
const baseCost = macsAt(base);

interface Row {
  variant: string;
  macs: number;
  params: number;
  macsRatio: number;
  quality: RunReport['studentVsOriginal'] | null;
  vsTargets: RunReport['studentVsOriginal'];
  latency: Latency;
  speedup: number;
  seconds: Record<string, number>;
  compressionSeconds: number;
}

const rows: Row[] = [];
const basePredictions = predictAll(base, test.inputs);
const targetQuality = await quality(basePredictions, test.targets!, 2);
basePredictions.dispose();
rows.push({
  variant: `base (ngf=${cfg.ngf}, ${cfg.blocks} blocks)`,
  macs: baseCost.macs,
  params: baseCost.params,
  macsRatio: 1,
  quality: null,
  vsTargets: targetQuality,
  latency: baseLatency,
  speedup: 1,
  seconds: { train: baseSeconds },
  compressionSeconds: 0,
});

const variants: [string, Partial<RunSpec>][] = [
  ['condense + prune + distill (teacher: condensed)', {}],
  ['teacher: original', { teacher: 'original' }],
  ['no distillation', { steps: { train: 0, condense: cfg.condense, distill: 0 } }],
  ['no condensation (magnitude prune + distill)', { steps: { train: 0, condense: 0, distill: cfg.distill } }],
];
for (const [name, overrides] of variants) {
  const start = performance.now();
  const { student, report } = await runPipeline({
    spec: spec(overrides),
    model: base,
    train,
    test,
    store: new MemoryCheckpointStore(),
    backend: describeBackend(info),
    device: 'bench',
    onProgress: progress(name),
  });
  const seconds = (performance.now() - start) / 1000;
  const cost = macsAt(student);
  const latency = await latencyOf(student);
  rows.push({
    variant: name,
    macs: cost.macs,
    params: cost.params,
    macsRatio: baseCost.macs / cost.macs,
    quality: report!.studentVsOriginal,
    vsTargets: report!.vsTargets!.student,
    latency,
    speedup: baseLatency.medianMs / latency.medianMs,
    seconds: report!.seconds as Record<string, number>,
    compressionSeconds: seconds,
  });
  log(`${name}: ${(baseCost.macs / cost.macs).toFixed(1)}x fewer MACs, ${report!.studentVsOriginal.psnr.toFixed(2)} dB vs base, ${latency.medianMs.toFixed(1)} ms`);
  student.dispose();
}

const f = (x: number, d = 2) => x.toFixed(d);
const g = (x: number) => (x >= 1e9 ? `${f(x / 1e9)} G` : `${f(x / 1e6)} M`);
const header = `| variant | MACs @${cfg.latencySize} | fewer MACs | params | PSNR / SSIM vs base | PSNR / SSIM vs targets | wasm latency @${cfg.latencySize} (median) | speed-up | speed-up / MACs ratio | condense / prune / distill (s) | compression time / base training |`;
const lines = [
  header,
  `|${header.split('|').slice(1, -1).map(() => '---').join('|')}|`,
  ...rows.map((r) =>
    [
      '',
      r.variant,
      g(r.macs),
      `${f(r.macsRatio, 1)}x`,
      `${f(r.params / 1e6, 3)} M`,
      r.quality ? `${f(r.quality.psnr)} dB / ${f(r.quality.ssim, 3)}` : '-',
      `${f(r.vsTargets.psnr)} dB / ${f(r.vsTargets.ssim, 3)}`,
      `${f(r.latency.medianMs, 1)} ms`,
      `${f(r.speedup)}x`,
      r.quality ? f(r.speedup / r.macsRatio) : '-',
      r.quality ? ['condense', 'prune', 'distill'].map((s) => f(r.seconds[s] ?? 0, 0)).join(' / ') : `train ${f(r.seconds.train, 0)}`,
      r.quality ? `${f(r.compressionSeconds / baseSeconds)}x` : '-',
      '',
    ].join(' | ').trim(),
  ),
];
const summary = [
  `# Compression bench (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Task: procedural shapes -> painting, ${cfg.images - cfg.heldOut} training / ${cfg.heldOut} held-out ${cfg.size}x${cfg.size} pairs.`,
  `Base: ResNet generator ngf=${cfg.ngf}, ${cfg.blocks} blocks, trained ${cfg.trainSteps} steps (${f(baseSeconds, 0)} s). Budget ${cfg.budget}; condense ${cfg.condense} + distill ${cfg.distill} steps.`,
  `Backend: ${describeBackend(info)}; ${process.platform} ${process.arch}, ${availableParallelism()} cores, node ${process.version}.`,
  '',
  ...lines,
  '',
];
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'compress-bench.json'), JSON.stringify({ config: cfg, backend: describeBackend(info), baseSeconds, rows }, null, 2));
writeFileSync(path.join(outDir, 'compress-bench.md'), summary.join('\n'));
console.log(summary.join('\n'));
