/**
 * The results table for the paper's three tasks (mask -> face, face -> cartoon, unpaired day ->
 * night): each preset's shipped base model is compressed to two MACs budgets, and at the smaller
 * budget the paper's ablations run too (no condensation = magnitude pruning of the base + distill,
 * teacher = original, no distillation, no feature loss). For every model: MACs, params, PSNR/SSIM
 * vs the base and vs the ground truth (paired tasks), wasm latency and FPS at --latency-size
 * measured side by side at the end (interleaved rounds), wall time per stage against the base's
 * training time. Writes tasks-bench.json + tasks-bench.md; bench/pareto-chart.ts draws the chart.
 *
 *   npx tsx bench/tasks-bench.ts [--quick] [--budgets macs=0.25,macs=0.1] [--condense 200]
 *     [--distill 300] [--latency-size 256] [--runs 12] [--only face-to-cartoon,...] [--out bench/results]
 */
import { readModelDir } from '../src/cli/model-dir';
import { log, setting } from './common';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/core/backend';
import { ImageDataset, trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { DEFAULT_SPEC, runPipeline, type RunSpec } from '../src/core/compress/pipeline';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { modelCost } from '../src/core/measure/cost';
import { measureLatency } from '../src/core/measure/latency';
import { predictAll, quality, type QualityPair } from '../src/core/measure/quality';
import { PRESET_TASKS, presetFor } from '../src/core/models/presets';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    budgets: { type: 'string' },
    condense: { type: 'string' },
    distill: { type: 'string' },
    'latency-size': { type: 'string' },
    runs: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = Boolean(values.quick);
const n = setting(values, quick);
const cfg = {
  budgets: (values.budgets ?? 'macs=0.25,macs=0.1').split(','),
  condense: n('condense', 200, 6),
  distill: n('distill', 300, 6),
  latencySize: n('latency-size', 256, 64),
  runs: n('runs', 12, 3),
  images: quick ? 24 : undefined,
};
const outDir = values.out ?? (quick ? path.join('scratch', 'bench-quick') : path.join('bench', 'results'));
const presets = (values.only?.split(',') ?? PRESET_TASKS).map(presetFor);

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });

export interface TaskRow {
  task: string;
  variant: string;
  budget: string | null;
  macs: number;
  params: number;
  macsRatio: number;
  vsBase: QualityPair | null;
  vsTargets: QualityPair | null;
  medianMs: number;
  fps: number;
  speedup: number;
  seconds: Record<string, number>;
  /** Compression wall time over the base's training time (from its info.json). */
  timeVsTraining: number | null;
}

const rows: TaskRow[] = [];
for (const preset of presets) {
  const dir = path.join('public', preset.modelDir);
  const baseInfo = JSON.parse(readFileSync(path.join(dir, 'info.json'), 'utf8'));
  const base = await readModelDir(dir);
  const count = cfg.images ?? preset.images;
  const data = generateTask(preset.task, count, preset.size, 1);
  // Paired: the preset's own training pairs, the last 16 held out. Unpaired: A images only.
  const { train, test } = trainingSets(data.inputs, data.kind === 'paired' ? data.targets : null, { size: preset.size, range: '-1,1', heldOut: quick ? 4 : 16 });
  const spec = (overrides: Partial<RunSpec>): RunSpec => ({
    ...DEFAULT_SPEC,
    size: preset.size,
    steps: { train: 0, condense: cfg.condense, distill: cfg.distill },
    latencyRuns: 2,
    checkpointEvery: 1e9,
    sampleEvery: 0,
    ...overrides,
  });
  const small = cfg.budgets[cfg.budgets.length - 1];
  const variants: [string, RunSpec][] = [
    ...cfg.budgets.map((b): [string, RunSpec] => [`condense + prune + distill`, spec({ budget: b })]),
    ['no condensation (magnitude prune + distill)', spec({ budget: small, steps: { train: 0, condense: 0, distill: cfg.distill } })],
    ['teacher = original', spec({ budget: small, teacher: 'original' })],
    ['no distillation', spec({ budget: small, steps: { train: 0, condense: cfg.condense, distill: 0 } })],
    ['no feature loss', spec({ budget: small, loss: { ...DEFAULT_SPEC.loss, feature: 0 } })],
  ];
  const baseCost = modelCost(readChannelGraph(base), [cfg.latencySize, cfg.latencySize]);
  const predicted = predictAll(base, test.inputs);
  const baseVsTargets = test.targets ? await quality(predicted, test.targets, 2) : null;
  predicted.dispose();
  const models: { row: TaskRow; model: tf.LayersModel }[] = [];
  const baseRow: TaskRow = { task: preset.task, variant: 'base (shipped)', budget: null, macs: baseCost.macs, params: baseCost.params, macsRatio: 1, vsBase: null, vsTargets: baseVsTargets, medianMs: 0, fps: 0, speedup: 1, seconds: { train: baseInfo.seconds }, timeVsTraining: null };
  models.push({ row: baseRow, model: base });
  for (const [variant, s] of variants) {
    log(`${preset.task}: ${variant} (${s.budget})`);
    const started = performance.now();
    const { student, report } = await runPipeline({ spec: s, model: base, train, test, store: new MemoryCheckpointStore(), backend: describeBackend(info), device: 'bench' });
    const seconds = (performance.now() - started) / 1000;
    const cost = modelCost(readChannelGraph(student), [cfg.latencySize, cfg.latencySize]);
    const row: TaskRow = {
      task: preset.task,
      variant,
      budget: s.budget,
      macs: cost.macs,
      params: cost.params,
      macsRatio: baseCost.macs / cost.macs,
      vsBase: report!.studentVsOriginal,
      vsTargets: report!.vsTargets?.student ?? null,
      medianMs: 0,
      fps: 0,
      speedup: 0,
      seconds: report!.seconds as Record<string, number>,
      timeVsTraining: seconds / baseInfo.seconds,
    };
    models.push({ row, model: student });
    log(`${preset.task}: ${variant}: ${row.macsRatio.toFixed(1)}x fewer MACs, ${row.vsBase!.psnr.toFixed(2)} dB vs base, ${seconds.toFixed(0)} s`);
  }
  // Latency side by side: interleaved rounds, the median of the rounds' medians.
  const shape = [1, cfg.latencySize, cfg.latencySize, 3];
  const times = models.map(() => [] as number[]);
  for (let round = 0; round < 3; round++) {
    for (const [i, m] of models.entries()) times[i].push((await measureLatency(m.model, shape, { runs: Math.ceil(cfg.runs / 3), warmup: 2 })).medianMs);
  }
  models.forEach((m, i) => {
    m.row.medianMs = times[i].sort((a, b) => a - b)[1];
    m.row.fps = 1000 / m.row.medianMs;
  });
  for (const m of models) {
    m.row.speedup = baseRow.medianMs / m.row.medianMs;
    rows.push(m.row);
    if (m.model !== base) m.model.dispose();
  }
  base.dispose();
  [train, test].forEach((d: ImageDataset) => d.dispose());
}

const result = {
  date: new Date().toISOString(),
  command: `npx tsx bench/tasks-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}`,
  backend: describeBackend(info),
  config: cfg,
  rows,
};
const q = (x: QualityPair | null) => (x ? `${x.psnr.toFixed(2)} dB / ${x.ssim.toFixed(3)}` : '–');
const md = [
  `# Three tasks: compression results on ${result.backend}`,
  '',
  `${result.date.slice(0, 10)}, ${result.machine}. Command: \`${result.command}\`. Shipped base models (public/models), ${cfg.condense} condense + ${cfg.distill} distill steps at 64x64; latency at ${cfg.latencySize}x${cfg.latencySize}, measured side by side per task (3 interleaved rounds).`,
  '',
  '| task | variant | budget | MACs (fewer) | params | PSNR / SSIM vs base | PSNR / SSIM vs ground truth | latency | FPS | speed-up | time vs base training |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.task} | ${r.variant} | ${r.budget ?? '–'} | ${(r.macs / 1e6).toFixed(0)} M (${r.macsRatio.toFixed(1)}x) | ${(r.params / 1e3).toFixed(0)} K | ${q(r.vsBase)} | ${q(r.vsTargets)} | ${r.medianMs.toFixed(1)} ms | ${r.fps.toFixed(1)} | ${r.speedup.toFixed(2)}x | ${r.timeVsTraining === null ? '–' : `${r.timeVsTraining.toFixed(2)}x`} |`,
  ),
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'tasks-bench.json'), JSON.stringify(result, null, 2));
writeFileSync(path.join(outDir, 'tasks-bench.md'), md);
console.log(md);
