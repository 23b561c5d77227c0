/**
 * The shipped real-time students: each preset's shipped base compressed by this project's own
 * pipeline to run at --fps frames per second at --at px on this machine (wasm), written next to
 * the base in <out>/<task>-realtime/ with an info.json (budget, MACs, measured FPS, quality vs
 * its base, and for face -> cartoon vs the cartoon filter on held-out photos), so the Live demo
 * starts at real time before the user compresses anything. Frames are timed on one thread of
 * tfjs-wasm, or with `--runtime onnxruntime` of onnxruntime-web wasm on the model's ONNX export
 * (what Live runs when it measures faster).
 *
 *   npx tsx bench/realtime-students.ts [--only face-to-cartoon] [--fps 30] [--at 256] [--runtime tfjs|onnxruntime]
 *     [--condense 300] [--distill 1500] [--batch 8] [--lr 1e-3] [--photos scratch/photos]
 *     [--crops 3000] [--models public/models] [--out public/models]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../src/cli/model-dir';
import { describeBackend, initBackend } from '../src/core/backend';
import { ImageDataset, trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { DEFAULT_SPEC, runPipeline } from '../src/core/compress/pipeline';
import { TRAIN_RECIPE } from '../src/core/compress/spec';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { saveModelToFiles } from '../src/core/io/model-files';
import { quantizeModelFiles } from '../src/core/io/quantize';
import { timedMeasurer, type LatencyMeasurer } from '../src/core/measure/latency';
import { onnxLatencyMeasurer } from '../src/core/io/onnx-run';
import { presetFor, PRESET_TASKS } from '../src/core/models/presets';
import { log } from './common';
import { readPhotoSources } from './fetch-photos';
import { heldOutPhotoSet, photoPairs, photoQuality, readPhotos } from './photo-data';
import { encodePng } from '../src/cli/images';
import { gridImage, sampleGrid } from '../src/core/measure/samples';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    fps: { type: 'string' },
    at: { type: 'string' },
    condense: { type: 'string' },
    distill: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    photos: { type: 'string' },
    crops: { type: 'string' },
    images: { type: 'string' },
    models: { type: 'string' },
    out: { type: 'string' },
    runtime: { type: 'string' },
  },
});
const cfg = {
  fps: Number(values.fps ?? 30),
  at: Number(values.at ?? 256),
  condense: Number(values.condense ?? 300),
  distill: Number(values.distill ?? 1500),
  batch: Number(values.batch ?? 8),
  lr: Number(values.lr ?? 1e-3),
  crops: Number(values.crops ?? 3000),
  images: Number(values.images ?? 1000),
  runtime: values.runtime ?? 'tfjs',
};
if (!['tfjs', 'onnxruntime'].includes(cfg.runtime)) throw new Error('--runtime is tfjs or onnxruntime');
const measureLatency: LatencyMeasurer = cfg.runtime === 'onnxruntime' ? onnxLatencyMeasurer(1, 20) : timedMeasurer({ runs: 20 });
const modelsDir = values.models ?? path.join('public', 'models');
const outRoot = values.out ?? path.join('public', 'models');
const command = `npx tsx bench/realtime-students.ts ${process.argv.slice(2).join(' ')}`.trim();

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });

for (const task of values.only?.split(',') ?? PRESET_TASKS) {
  const preset = presetFor(task);
  const baseDir = path.join(modelsDir, task);
  const base = await readModelDir(baseDir);
  const data = generateTask(preset.task, cfg.images, preset.size, 2);
  // Unpaired (day -> night): the student learns from the base alone, on day scenes; there is no
  // night scene that belongs to a day scene to compare with.
  const paired = data.kind === 'paired';
  let { train, test } = trainingSets(data.inputs, paired ? data.targets : null, { size: preset.size, range: '-1,1', heldOut: 16 });
  if (task === 'face-to-cartoon' && values.photos) {
    const views = photoPairs(readPhotos(values.photos, readPhotoSources(values.photos).train), cfg.crops, preset.size, 2);
    const mixed = ImageDataset.fromImages([...data.inputs.slice(0, -16), ...views.inputs], [...data.targets.slice(0, -16), ...views.targets], preset.size, '-1,1');
    train.dispose();
    train = mixed;
  }
  const budget = `fps=${cfg.fps}@${cfg.at}`;
  log(`${task}: compressing ${baseDir} to ${budget} on ${train.length} pairs`);
  const started = performance.now();
  const { student, report } = await runPipeline({
    spec: {
      ...DEFAULT_SPEC,
      size: preset.size,
      budget,
      batchSize: cfg.batch,
      schedule: TRAIN_RECIPE.schedule,
      ema: TRAIN_RECIPE.ema,
      beta1: TRAIN_RECIPE.beta1,
      lr: { ...DEFAULT_SPEC.lr, distill: cfg.lr },
      steps: { train: 0, condense: cfg.condense, distill: cfg.distill },
      loss: { ...DEFAULT_SPEC.loss, groundTruth: paired ? 1 : 0 },
      checkpointEvery: 1e9,
      sampleEvery: 0,
    },
    model: base,
    train,
    test,
    store: new MemoryCheckpointStore(),
    backend: describeBackend(info),
    device: 'bench',
    measureLatency,
    onProgress: (p) => p.step % 250 === 0 && log(`${task} ${p.stage} ${p.step}/${p.steps} loss ${p.losses.total.toFixed(4)}`),
  });
  const seconds = (performance.now() - started) / 1000;
  const r = report!;
  // Measured again side by side with the base, at the budget's resolution.
  const shape = [1, cfg.at, cfg.at, 3];
  const [baseLat, studentLat] = [await measureLatency(base, shape), await measureLatency(student, shape)];
  const photos = task === 'face-to-cartoon' && values.photos ? { heldOutPhotosVsFilter: await photoQuality(student, values.photos, [64, 256]) } : {};
  if (task === 'face-to-cartoon' && values.photos) {
    // Held-out photos at 256 px: input | cartoon filter | base | real-time student.
    const set = heldOutPhotoSet(values.photos, cfg.at);
    const grid = gridImage(await sampleGrid(set.inputs, set.targets, [{ label: 'base', model: base }, { label: 'real-time', model: student }], '-1,1', set.names, set.length));
    const png = encodePng(grid.width, grid.height, grid.channels, grid.data);
    // For the README and the app (Cartoon me shows it).
    const file = path.join('bench', 'results', 'presets', `${task}-realtime-photos.png`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, png);
    writeFileSync(path.join('public', 'results', `${task}-realtime-photos.png`), png);
    set.dispose();
  }
  const dir = path.join(outRoot, `${task}-realtime`);
  mkdirSync(dir, { recursive: true });
  const files = quantizeModelFiles(await saveModelToFiles(student), 'float16');
  writeFileSync(path.join(dir, 'model.json'), files.modelJson);
  writeFileSync(path.join(dir, 'weights.bin'), files.shards.get('weights.bin')!);
  const bytes = files.modelJson.length + files.shards.get('weights.bin')!.byteLength;
  const baseInfo = JSON.parse(readFileSync(path.join(baseDir, 'info.json'), 'utf8'));
  const record = {
    task,
    command,
    base: `models/${task}`,
    budget,
    backend: describeBackend(info),
    weights: 'float16',
    inputRange: '-1,1',
    size: preset.size,
    bytes,
    steps: { condense: cfg.condense, distill: cfg.distill, batch: cfg.batch, lr: cfg.lr },
    macs: { base: r.macs.before, student: r.macs.after, ratio: r.macs.ratio, at: preset.size },
    params: { base: r.params.before, student: r.params.after },
    fpsAt: { size: cfg.at, runtime: studentLat.backend, base: baseLat.fps, student: studentLat.fps, target: cfg.fps, met: studentLat.fps >= cfg.fps, search: r.fps?.search },
    heldOut: r.vsTargets?.student ?? null,
    vsBase: r.studentVsOriginal,
    baseHeldOut: baseInfo.heldOut,
    ...photos,
    seconds,
  };
  writeFileSync(path.join(dir, 'info.json'), JSON.stringify(record, null, 2));
  log(`${task}: ${(r.macs.ratio).toFixed(1)}x fewer MACs, ${studentLat.fps.toFixed(1)} FPS at ${cfg.at} (base ${baseLat.fps.toFixed(1)}), vs base ${r.studentVsOriginal.psnr.toFixed(2)} dB${r.vsTargets ? `, held-out ${r.vsTargets.student.psnr.toFixed(2)} dB` : ''}${photos.heldOutPhotosVsFilter ? `, photos vs filter ${Object.entries(photos.heldOutPhotosVsFilter).map(([k, q]) => `${k} ${q.psnr.toFixed(2)} dB`).join(', ')}` : ''}; wrote ${dir}`);
  [student, base, train, test].forEach((x) => x.dispose());
}
