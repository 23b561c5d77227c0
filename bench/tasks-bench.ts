/**
 * The results table for the paper's three tasks (mask -> face, face -> cartoon, unpaired day ->
 * night): each preset's shipped base model is compressed with the default recipe (DEFAULT_SPEC)
 * to each MACs budget in the same wall time (--time seconds per run), and for the tasks in
 * --ablate, at the --ablate-budget the ablations run too, each changing one thing against the
 * default at equal time. For every model: MACs, params, PSNR/SSIM vs the base and vs the ground
 * truth (paired tasks), zero-step quality (sliced, then refitted), wasm latency and FPS at
 * --latency-size measured side by side at the end (interleaved rounds), wall time against the
 * base's training time. Writes tasks-bench.json + tasks-bench.md; bench/pareto-chart.ts draws
 * the chart.
 *
 *   npx tsx bench/tasks-bench.ts [--quick] [--budgets macs=0.25,macs=0.1,macs=0.05] [--time 200 | --time 0 --distill N]
 *     [--ablate face-to-cartoon] [--ablate-budget macs=0.1] [--condense 200] [--latency-size 256]
 *     [--runs 12] [--only face-to-cartoon,...] [--variants label,label] [--out bench/results]
 *
 * --variants keeps only the runs whose label contains one of the given texts.
 */
import { readModelDir, trainedSeconds } from '../src/cli/model-dir';
import { log, setting, sideBySideMs } from './common';
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
import { predictAll, quality, type QualityPair } from '../src/core/measure/quality';
import { PRESET_TASKS, presetFor } from '../src/core/models/presets';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    budgets: { type: 'string' },
    time: { type: 'string' },
    ablate: { type: 'string' },
    variants: { type: 'string' },
    'ablate-budget': { type: 'string' },
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
  budgets: (values.budgets ?? 'macs=0.25,macs=0.1,macs=0.05').split(','),
  time: n('time', 200, 4),
  /** Distillation steps where --time 0 (equal steps instead of equal wall time). */
  distill: n('distill', DEFAULT_SPEC.steps.distill, 6),
  ablate: (values.ablate ?? 'face-to-cartoon').split(','),
  ablateBudget: values['ablate-budget'] ?? 'macs=0.1',
  condense: n('condense', 200, 6),
  variants: values.variants?.split(',') ?? null,
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
  /** Before any training step: sliced, and after refitting (where the run refits). */
  zeroStep: { sliced: QualityPair; refitted: QualityPair | null } | null;
  distillSteps: number;
  vsTargets: QualityPair | null;
  medianMs: number;
  fps: number;
  speedup: number;
  seconds: Record<string, number>;
  /** Compression wall time over the base's training time (from its info.json). */
  timeVsTraining: number | null;
}

const rows: TaskRow[] = [];
function write(): void {
  const result = {
    date: new Date().toISOString(),
    command: `npx tsx bench/tasks-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}`,
    backend: describeBackend(info),
    config: cfg,
    rows,
  };
  const q = (x: QualityPair | null) => (x ? `${x.psnr.toFixed(2)} dB / ${x.ssim.toFixed(3)}` : '–');
  const zero = (r: TaskRow) => (r.zeroStep ? `${r.zeroStep.sliced.psnr.toFixed(2)} → ${r.zeroStep.refitted?.psnr.toFixed(2) ?? '–'} dB` : '–');
  const md = [
    `# Three tasks: compression results on ${result.backend}`,
    '',
    `${result.date.slice(0, 10)}, ${result.machine}. Command: \`${result.command}\`. Shipped base models (public/models), trained and compressed at 64x64, ${cfg.time > 0 ? `${cfg.time} s of wall time` : `${cfg.distill} distillation steps`} per compression run (default recipe: DEFAULT_SPEC; each ablation changes one thing); PSNR on the preset's 16 held-out images; latency at ${cfg.latencySize}x${cfg.latencySize}, measured side by side per task (3 interleaved rounds).`,
    '',
    '| task | variant | budget | MACs (fewer) | params | PSNR / SSIM vs base | zero-step vs base (sliced → refitted) | distill steps | PSNR / SSIM vs ground truth | latency | FPS | speed-up | time vs base training |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.task} | ${r.variant} | ${r.budget ?? '–'} | ${(r.macs / 1e6).toFixed(0)} M (${r.macsRatio.toFixed(1)}x) | ${(r.params / 1e3).toFixed(0)} K | ${q(r.vsBase)} | ${zero(r)} | ${r.distillSteps} | ${q(r.vsTargets)} | ${r.medianMs.toFixed(1)} ms | ${r.fps.toFixed(1)} | ${r.speedup.toFixed(2)}x | ${r.timeVsTraining === null ? '–' : `${r.timeVsTraining.toFixed(2)}x`} |`,
    ),
    '',
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'tasks-bench.json'), JSON.stringify(result, null, 2));
  writeFileSync(path.join(outDir, 'tasks-bench.md'), md);
  console.log(md);
}
for (const preset of presets) {
  const dir = path.join('public', preset.modelDir);
  const baseInfo = JSON.parse(readFileSync(path.join(dir, 'info.json'), 'utf8'));
  const trained = trainedSeconds(baseInfo)!;
  const base = await readModelDir(dir);
  const count = cfg.images ?? preset.images;
  const data = generateTask(preset.task, count, preset.size, 1);
  // Paired: the preset's own training pairs, the last 16 held out. Unpaired: A images only.
  const { train, test } = trainingSets(data.inputs, data.kind === 'paired' ? data.targets : null, { size: preset.size, range: '-1,1', heldOut: quick ? 4 : 16 });
  const spec = (overrides: Partial<RunSpec>): RunSpec => ({
    ...DEFAULT_SPEC,
    size: preset.size,
    time: cfg.time > 0 ? cfg.time : null,
    steps: { train: 0, condense: 0, distill: cfg.distill },
    latencyRuns: 2,
    checkpointEvery: 1e9,
    sampleEvery: 0,
    ...overrides,
  });
  const at = cfg.ablateBudget;
  const noDistill = { steps: { train: 0, condense: 0, distill: 0 }, time: null };
  const condense = { steps: { train: 0, condense: cfg.condense, distill: cfg.distill }, condensation: 'prox' as const };
  const decay = (steps: number) => ({ steps: { train: 0, condense: steps, distill: cfg.distill }, condensation: 'decay' as const });
  const variants: [string, RunSpec][] = [
    ...cfg.budgets.map((b): [string, RunSpec] => [`default recipe`, spec({ budget: b })]),
    ...(cfg.ablate.includes(preset.task)
      ? ([
          ['no compensation', spec({ budget: at, compensate: false })],
          ['magnitude selection', spec({ budget: at, selection: 'magnitude' })],
          ['compensation only (no distillation)', spec({ budget: at, ...noDistill })],
          ['plain slicing (no compensation, no distillation)', spec({ budget: at, ...noDistill, compensate: false })],
          [`prox condensation (${cfg.condense} steps), teacher = condensed`, spec({ budget: at, ...condense })],
          [`prox condensation (${cfg.condense} steps), teacher = original`, spec({ budget: at, ...condense, teacher: 'original' })],
          [`condensation by decay (${cfg.condense / 2} steps)`, spec({ budget: at, ...decay(cfg.condense / 2) })],
          [`condensation by decay (${cfg.condense} steps)`, spec({ budget: at, ...decay(cfg.condense) })],
          ['teacher re-run every step (no cache)', spec({ budget: at, teacherCache: 0 })],
          ['gradual pruning (2 rounds)', spec({ budget: at, pruneRounds: 2 })],
          ['gradual pruning (3 rounds)', spec({ budget: at, pruneRounds: 3 })],
          ['EMA 0.999', spec({ budget: at, ema: 0.999 })],
          ['lr 3e-4 (default 1e-3)', spec({ budget: at, lr: { ...DEFAULT_SPEC.lr, distill: 3e-4 } })],
          ['SSIM 0.2', spec({ budget: at, loss: { ...DEFAULT_SPEC.loss, ssim: 0.2 } })],
          [`pixel loss ${DEFAULT_SPEC.pixelLoss === 'l1' ? 'mse' : 'l1'} (default ${DEFAULT_SPEC.pixelLoss})`, spec({ budget: at, pixelLoss: DEFAULT_SPEC.pixelLoss === 'l1' ? 'mse' : 'l1' })],
          ['feature loss 1:1', spec({ budget: at, loss: { ...DEFAULT_SPEC.loss, feature: 1 } })],
          ...(data.kind === 'paired' ? [['ground-truth L1 0.5', spec({ budget: at, loss: { ...DEFAULT_SPEC.loss, groundTruth: 0.5 } })]] : []),
          [
            'previous recipe (batch 1, constant lr 2e-4, beta1 0.5, magnitude, no refit, no cache, feature 1:1)',
            spec({ budget: at, batchSize: 1, lr: { ...DEFAULT_SPEC.lr, distill: 2e-4 }, schedule: { warmup: 0, decay: 'constant' }, beta1: 0.5, ema: 0, selection: 'magnitude', compensate: false, teacherCache: 0, loss: { ...DEFAULT_SPEC.loss, feature: 1 } }),
          ],
        ] as [string, RunSpec][])
      : []),
  ].filter(([label]) => !cfg.variants || cfg.variants.some((v) => label.includes(v)));
  const baseCost = modelCost(readChannelGraph(base), [cfg.latencySize, cfg.latencySize]);
  const predicted = predictAll(base, test.inputs);
  const baseVsTargets = test.targets ? await quality(predicted, test.targets, 2) : null;
  predicted.dispose();
  const models: { row: TaskRow; model: tf.LayersModel }[] = [];
  const baseRow: TaskRow = { task: preset.task, variant: 'base (shipped)', budget: null, macs: baseCost.macs, params: baseCost.params, macsRatio: 1, vsBase: null, zeroStep: null, distillSteps: 0, vsTargets: baseVsTargets, medianMs: 0, fps: 0, speedup: 1, seconds: { train: trained }, timeVsTraining: null };
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
      zeroStep: report!.compensation ? { sliced: report!.compensation.sliced, refitted: report!.compensation.refitted } : null,
      distillSteps: report!.distillSteps,
      vsTargets: report!.vsTargets?.student ?? null,
      medianMs: 0,
      fps: 0,
      speedup: 0,
      seconds: report!.seconds as Record<string, number>,
      timeVsTraining: seconds / trained,
    };
    models.push({ row, model: student });
    log(`${preset.task}: ${variant}: ${row.macsRatio.toFixed(1)}x fewer MACs, ${row.vsBase!.psnr.toFixed(2)} dB vs base, ${seconds.toFixed(0)} s`);
  }
  const latencies = await sideBySideMs(models.map((m) => m.model), [1, cfg.latencySize, cfg.latencySize, 3], { runs: Math.ceil(cfg.runs / 3), warmup: 2 });
  models.forEach((m, i) => {
    m.row.medianMs = latencies[i];
    m.row.fps = 1000 / m.row.medianMs;
  });
  for (const m of models) {
    m.row.speedup = baseRow.medianMs / m.row.medianMs;
    rows.push(m.row);
    if (m.model !== base) m.model.dispose();
  }
  base.dispose();
  [train, test].forEach((d: ImageDataset) => d.dispose());
  write();
}

