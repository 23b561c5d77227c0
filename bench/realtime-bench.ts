/**
 * Real time on this machine's CPU: the face -> cartoon preset's shipped model, original vs
 * compressed, at 256x256 on the wasm backend, measured side by side in one run; and a
 * device-targeted run (--budget fps=F@256) with its target vs achieved FPS.
 *
 *   npx tsx bench/realtime-bench.ts [--quick] [--fps 30] [--size 256] [--images 160]
 *     [--condense 300] [--distill 400] [--runs 30] [--out bench/results]
 *
 * Writes realtime-bench.json and realtime-bench.md. The compressed models train at the preset's
 * 64x64 (the model is fully convolutional) and run at --size.
 */
import { readModelDir } from '../src/cli/model-dir';
import { log, setting } from './common';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/core/backend';
import { trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { DEFAULT_SPEC, runPipeline, type RunReport } from '../src/core/compress/pipeline';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { measureLatency, type Latency } from '../src/core/measure/latency';
import { PRESETS } from '../src/core/models/presets';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    fps: { type: 'string' },
    size: { type: 'string' },
    images: { type: 'string' },
    condense: { type: 'string' },
    distill: { type: 'string' },
    runs: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = Boolean(values.quick);
const n = setting(values, quick);
const preset = PRESETS['face-to-cartoon'];
const cfg = {
  fps: n('fps', 30, 30),
  size: n('size', 256, 128),
  images: n('images', preset.images, 24),
  condense: n('condense', 300, 10),
  distill: n('distill', 400, 10),
  runs: n('runs', 30, 5),
};
const outDir = values.out ?? (quick ? path.join('scratch', 'bench-quick') : path.join('bench', 'results'));

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });

const dir = path.join('public', preset.modelDir);
const base = await readModelDir(dir);
const data = generateTask('face-to-cartoon', cfg.images, preset.size, 1);
const { train, test } = trainingSets(data.inputs, data.targets, { size: preset.size, range: '-1,1', heldOut: 16 });

async function compress(budget: string) {
  log(`compressing with budget ${budget}`);
  const started = performance.now();
  const { student, report } = await runPipeline({
    spec: { ...DEFAULT_SPEC, size: preset.size, budget, steps: { train: 0, condense: cfg.condense, distill: cfg.distill }, loss: { ...DEFAULT_SPEC.loss, groundTruth: 1 }, latencyRuns: 5, checkpointEvery: 1e9, sampleEvery: 0 },
    model: base,
    train,
    test,
    store: new MemoryCheckpointStore(),
    backend: describeBackend(info),
    device: 'bench',
  });
  return { student, report: report!, seconds: (performance.now() - started) / 1000 };
}

const targeted = await compress(`fps=${cfg.fps}@${cfg.size}`);
const fixed = await compress(preset.compress.budget);

// Side by side in one run, interleaved so that drift on the machine hits all models alike.
const shape = [1, cfg.size, cfg.size, 3];
const models = { original: base, [`${preset.compress.budget} (preset)`]: fixed.student, [`fps=${cfg.fps}@${cfg.size}`]: targeted.student };
const latencies: Record<string, Latency[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, m] of Object.entries(models)) (latencies[name] ??= []).push(await measureLatency(m, shape, { runs: Math.ceil(cfg.runs / 3), warmup: 3 }));
}
const median = (ls: Latency[]) => ls.map((l) => l.medianMs).sort((a, b) => a - b)[1];
const rows = Object.entries(models).map(([name, m]) => {
  const report: RunReport | null = name === 'original' ? null : name.startsWith('fps') ? targeted.report : fixed.report;
  const ms = median(latencies[name]);
  return {
    model: name,
    macs: report ? report.macs.after : (fixed.report.macs.before as number),
    params: m.countParams(),
    medianMs: ms,
    fps: 1000 / ms,
    psnrVsOriginal: report?.studentVsOriginal.psnr ?? null,
    psnrVsTargets: report ? report.vsTargets!.student.psnr : fixed.report.vsTargets!.original.psnr,
    compressSeconds: report ? (name.startsWith('fps') ? targeted.seconds : fixed.seconds) : null,
  };
});
const result = {
  date: new Date().toISOString(),
  command: `npx tsx bench/realtime-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}`,
  backend: describeBackend(info),
  size: cfg.size,
  config: cfg,
  rows,
  targeted: { target: cfg.fps, achievedInReport: targeted.report.fps!.after.fps, achievedSideBySide: rows[2].fps, met: rows[2].fps >= cfg.fps, search: targeted.report.fps!.search },
};
const fmt = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));
const md = [
  `# Real-time bench: face -> cartoon at ${cfg.size}x${cfg.size} on ${result.backend}`,
  '',
  `${result.date.slice(0, 10)}, ${result.machine}. Command: \`${result.command}\`. Shipped base model (ResNet ngf=${preset.ngf}, ${preset.blocks} blocks), compressed at ${preset.size}x${preset.size} (${cfg.condense} condense + ${cfg.distill} distill steps on ${train.length} generated pairs), measured at ${cfg.size}x${cfg.size}, 3 interleaved rounds, median.`,
  '',
  '| model | MACs @64 | params | latency | FPS | PSNR vs original | PSNR vs targets | compression time |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.model} | ${(r.macs / 1e6).toFixed(1)} M | ${(r.params / 1e3).toFixed(1)} K | ${fmt(r.medianMs, 1)} ms | ${fmt(r.fps, 1)} | ${r.psnrVsOriginal === null ? '–' : `${fmt(r.psnrVsOriginal)} dB`} | ${fmt(r.psnrVsTargets)} dB | ${r.compressSeconds === null ? '–' : `${fmt(r.compressSeconds, 0)} s`} |`),
  '',
  `Device-targeted run: target ${cfg.fps} FPS at ${cfg.size}x${cfg.size}; achieved ${fmt(result.targeted.achievedSideBySide, 1)} FPS side by side (${fmt(result.targeted.achievedInReport, 1)} in the run's own report): target ${result.targeted.met ? 'met' : 'NOT met'}. Candidates measured by the search (MACs share kept -> FPS): ${result.targeted.search.map((t) => `${t.keep.toFixed(3)} -> ${t.fps.toFixed(1)}`).join(', ')}.`,
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'realtime-bench.json'), JSON.stringify(result, null, 2));
writeFileSync(path.join(outDir, 'realtime-bench.md'), md);
console.log(md);
