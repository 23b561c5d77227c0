/**
 * Trains the base models shipped in public/models/ for the built-in tasks, so a user can start
 * compressing at once (nothing is downloaded). Each model folder gets model.json + weights.bin and
 * info.json with the command, seed, steps, wall time, sizes and held-out quality. The shipped
 * (float16) files are then read back and evaluated: held-out PSNR/SSIM printed, and a sample grid
 * (input | target | output) written to bench/results/presets/<task>.png.
 *
 * Paired tasks train with the recipe of src/core/compress/spec.ts (TRAIN_RECIPE: batches, warm-up
 * and cosine decay, weight EMA); `--time S` sizes the run to S seconds from measured throughput
 * (the fastest of batch 4, 8, 16 here). Face -> cartoon also learns from photographs
 * (`--photos <dir>` from bench/fetch-photos.ts): `--crops N` random webcam-like views of the
 * training photos plus the procedural faces; its held-out photos are evaluated at 64 and 256 px.
 * `--init <dir>` continues training a model of the same layout (a warm restart of the schedule:
 * warm-up and decay again, at `--lr`); `--view-seed` draws other photo views than the first run's,
 * so the continued run sees new crops. Weight movement is still measured from the seeded initial
 * values, and info.json keeps the earlier run's record under `continuedFrom`.
 *
 *   npx tsx bench/train-presets.ts [--size 64] [--ngf 16] [--blocks 6] [--downsamplings 2] [--norm instance|batch]
 *     [--steps 1200 | --time S]
 *     [--cycle-steps 600] [--images 160] [--photos scratch/photos] [--crops 5000] [--lr R]
 *     [--only mask-to-face,face-to-cartoon,unpaired] [--out public/models]
 *     [--init <model dir>] [--view-seed N]
 *   npx tsx bench/train-presets.ts --evaluate [--photos dir]   # only the shipped files
 */
import { readModelDir, readModelInfo } from '../src/cli/model-dir';
import { log } from './common';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/core/backend';
import { ImageDataset, trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { PRESET_TASKS, presetFor, type Preset, type PresetTask } from '../src/core/models/presets';
import { DEFAULT_SPEC, runPipeline } from '../src/core/compress/pipeline';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { saveModelToFiles } from '../src/core/io/model-files';
import { gridImage, sampleGrid } from '../src/core/measure/samples';
import { encodePng } from '../src/cli/images';
import { quantizeModelFiles } from '../src/core/io/quantize';
import { predictAll, quality } from '../src/core/measure/quality';
import { buildGenerator, defaultSpec } from '../src/core/models/zoo';
import { trainCycleGan } from '../src/core/train/cyclegan';
import { TRAIN_RECIPE } from '../src/core/compress/spec';
import { fastestBatch, stepsForTime } from '../src/core/train/run-size';
import { timedTrainingThroughput } from '../src/core/train/throughput';
import { formatMovement, weightMovement } from '../src/core/measure/movement';
import { readPhotoSources } from './fetch-photos';
import { DEFAULT_CARTOON } from '../src/core/data/cartoon';
import { heldOutPhotoSet, photoPairs, photoQuality, readPhotos } from './photo-data';

const { values } = parseArgs({
  options: {
    size: { type: 'string' },
    ngf: { type: 'string' },
    blocks: { type: 'string' },
    steps: { type: 'string' },
    'cycle-steps': { type: 'string' },
    images: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    evaluate: { type: 'boolean' },
    time: { type: 'string' },
    photos: { type: 'string' },
    crops: { type: 'string' },
    lr: { type: 'string' },
    downsamplings: { type: 'string' },
    norm: { type: 'string' },
    init: { type: 'string' },
    'view-seed': { type: 'string' },
  },
});
/** The preset's architecture and data (src/core/models/presets.ts) unless overridden. */
const settings = (preset: Preset) => ({
  size: Number(values.size ?? preset.size),
  ngf: Number(values.ngf ?? preset.ngf),
  blocks: Number(values.blocks ?? preset.blocks),
  downsamplings: Number(values.downsamplings ?? preset.downsamplings),
  norm: (values.norm ?? preset.norm) as Preset['norm'],
  steps: Number(values.steps ?? 1200),
  cycleSteps: Number(values['cycle-steps'] ?? 600),
  images: Number(values.images ?? preset.images),
  seed: 1,
  crops: Number(values.crops ?? 5000),
  viewSeed: Number(values['view-seed'] ?? 1),
  lr: Number(values.lr ?? TRAIN_RECIPE.lr),
});
const only = (values.only?.split(',') ?? PRESET_TASKS).map(presetFor);
const outRoot = values.out ?? path.join('public', 'models');

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });
const command = `npx tsx bench/train-presets.ts ${process.argv.slice(2).join(' ')}`.trim();

async function write(task: PresetTask, cfg: ReturnType<typeof settings>, model: tf.LayersModel, extra: Record<string, unknown>) {
  const dir = path.join(outRoot, task);
  mkdirSync(dir, { recursive: true });
  // float16 weights: half the download, dequantised by tf.loadLayersModel.
  const files = quantizeModelFiles(await saveModelToFiles(model), 'float16');
  writeFileSync(path.join(dir, 'model.json'), files.modelJson);
  writeFileSync(path.join(dir, 'weights.bin'), files.shards.get('weights.bin')!);
  const bytes = files.modelJson.length + files.shards.get('weights.bin')!.byteLength;
  writeFileSync(
    path.join(dir, 'info.json'),
    JSON.stringify({ task, command, backend: describeBackend(info), weights: 'float16', inputRange: '-1,1', size: cfg.size, arch: 'resnet', ngf: cfg.ngf, blocks: cfg.blocks, downsamplings: cfg.downsamplings, norm: cfg.norm, seed: cfg.seed, bytes, ...extra }, null, 2),
  );
  log(`${task}: wrote ${dir} (${(bytes / 1024).toFixed(0)} KiB)`);
}

/** What trained the model a run continues from (its info.json), so the shipped record keeps the whole history. */
async function continuedRecord(dir: string) {
  const prior = await readModelInfo(dir);
  if (!prior) throw new Error(`--init ${dir}: no info.json next to the model, so its training cannot be recorded`);
  const { command: priorCommand, steps, recipe, seconds, seed, photoViews, continuedFrom } = prior;
  return { command: priorCommand, steps, recipe, seconds, seed, photoViews, ...(continuedFrom ? { continuedFrom } : {}) };
}

/** Held-out quality and a sample grid of the files as shipped (float16 weights, read back). */
async function evaluateShipped(preset: Preset, cfg: ReturnType<typeof settings>) {
  const dir = path.join(outRoot, preset.task);
  const model = await readModelDir(dir);
  // Paired: the 16 held-out pairs of training. Unpaired: 8 A images after the training ones.
  const data = generateTask(preset.task, cfg.images + 8, cfg.size, cfg.seed);
  const test =
    data.kind === 'paired'
      ? trainingSets(data.inputs.slice(0, cfg.images), data.targets.slice(0, cfg.images), { size: cfg.size, range: '-1,1', heldOut: 16 }).test
      : ImageDataset.fromImages(data.inputs.slice(cfg.images), null, cfg.size, '-1,1');
  let line = `${preset.task}: shipped files`;
  if (test.targets) {
    const predicted = predictAll(model, test.inputs);
    const q = await quality(predicted, test.targets, 2);
    predicted.dispose();
    line += ` on ${test.length} held-out pairs: PSNR ${q.psnr.toFixed(2)} dB, SSIM ${q.ssim.toFixed(4)}`;
  }
  if (preset.task === 'face-to-cartoon' && values.photos) {
    const photos = await photoQuality(model, values.photos, [64, 256]);
    line += `; held-out photos vs the filter: ${Object.entries(photos).map(([k, q]) => `${k} ${q.psnr.toFixed(2)} dB / ${q.ssim.toFixed(4)}`).join(', ')}`;
    const set = heldOutPhotoSet(values.photos, 256);
    const grid = gridImage(await sampleGrid(set.inputs, set.targets, [{ label: 'base', model }], '-1,1', set.names, set.length));
    // For the README (the app shows bench/realtime-students.ts's grid, which adds the real-time student).
    const file = path.join('bench', 'results', 'presets', `${preset.task}-photos.png`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, encodePng(grid.width, grid.height, grid.channels, grid.data));
    set.dispose();
    line += ` (grid ${file})`;
  }
  const img = gridImage(await sampleGrid(test.inputs, test.targets, [{ label: 'output', model }], '-1,1', test.names, 6));
  const png = path.join('bench', 'results', 'presets', `${preset.task}.png`);
  mkdirSync(path.dirname(png), { recursive: true });
  writeFileSync(png, encodePng(img.width, img.height, img.channels, img.data));
  log(`${line}; sample grid ${png}`);
  model.dispose();
  test.dispose();
}

for (const preset of only) {
  const { task } = preset;
  const cfg = settings(preset);
  if (values.evaluate) {
    await evaluateShipped(preset, cfg);
    continue;
  }
  const zoo = defaultSpec(preset.arch, { ngf: cfg.ngf, depth: cfg.blocks, downsamplings: cfg.downsamplings, norm: cfg.norm, size: null, seed: cfg.seed });
  const data = generateTask(task, cfg.images, cfg.size, cfg.seed);
  const started = performance.now();
  if (data.kind === 'paired') {
    // The procedural pairs' last 16 are held out (as before); photo views join the training side.
    const sets = trainingSets(data.inputs, data.targets, { size: cfg.size, range: '-1,1', heldOut: 16 });
    let { train } = sets;
    const { test } = sets;
    let photoSources: object[] | undefined;
    if (task === 'face-to-cartoon' && values.photos) {
      const { train: files, sources } = readPhotoSources(values.photos);
      photoSources = sources.map(({ file, package: pkg, version, licence }) => ({ file, package: pkg, version, licence, heldOut: !files.includes(file) }));
      const views = photoPairs(readPhotos(values.photos, files), cfg.crops, cfg.size, cfg.viewSeed);
      const faces = data.inputs.slice(0, -16);
      const all = ImageDataset.fromImages([...faces, ...views.inputs], [...data.targets.slice(0, -16), ...views.targets], cfg.size, '-1,1');
      train.dispose();
      train = all;
      log(`${task}: ${faces.length} procedural faces + ${cfg.crops} views of ${files.length} photos`);
    }
    const model = values.init ? await readModelDir(values.init) : buildGenerator(zoo);
    const initial = values.init ? buildGenerator(zoo) : model;
    const continuedFrom = values.init ? await continuedRecord(values.init) : undefined;
    let steps = cfg.steps;
    let batchSize = TRAIN_RECIPE.batchSize;
    if (values.time) {
      const choice = await fastestBatch([4, 8, 16], timedTrainingThroughput(model, train, cfg.size));
      batchSize = choice.batch;
      steps = stepsForTime(Number(values.time), choice.imagesPerSecond / batchSize);
      log(`${task}: ${choice.table.map((t) => `batch ${t.batch} ${t.imagesPerSecond.toFixed(1)} img/s`).join(', ')} -> ${steps} steps of batch ${batchSize} in ${values.time} s`);
    }
    let last = 0;
    const spec = { ...DEFAULT_SPEC, ...TRAIN_RECIPE, batchSize, lr: { ...DEFAULT_SPEC.lr, train: cfg.lr }, task: 'train' as const, size: cfg.size, seed: cfg.seed, steps: { train: steps, condense: 0, distill: 0 }, checkpointEvery: 1e9, sampleEvery: 0 };
    const { student } = await runPipeline({
      spec,
      model,
      train,
      test,
      store: new MemoryCheckpointStore(),
      backend: describeBackend(info),
      device: 'presets',
      onProgress: (p) => {
        if (performance.now() - last > 60_000 || p.step === p.steps) {
          last = performance.now();
          log(`${task} ${p.step}/${p.steps} loss ${p.losses.total.toFixed(4)} lr ${p.lr.toExponential(2)} ${p.stepsPerSecond.toFixed(2)} steps/s`);
        }
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const predicted = predictAll(student, test.inputs);
    const heldOut = await quality(predicted, test.targets!, 2);
    predicted.dispose();
    const movement = await weightMovement(initial, student);
    // Face -> cartoon records the filter settings it learned (the targets are that filter's output).
    const photos = photoSources ? { cartoonFilter: DEFAULT_CARTOON, heldOutPhotos: await photoQuality(student, values.photos!, [64, 256]), photoViews: cfg.crops, photoSources } : {};
    const recipe = { batchSize, lr: cfg.lr, schedule: spec.schedule, beta1: spec.beta1, ema: spec.ema, loss: spec.loss, pixelLoss: spec.pixelLoss };
    await write(task, cfg, student, { steps, recipe, ...(continuedFrom && { continuedFrom, viewSeed: cfg.viewSeed }), trainPairs: train.length, heldOutPairs: test.length, heldOut, ...photos, seconds, weightMovement: movement.map((m) => ({ layer: m.layer, relative: Number(m.relative.toFixed(4)) })) });
    log(`${task}: weight movement from initial values:\n${formatMovement(movement)}`);
    new Set([student, model, initial, train, test]).forEach((x) => x.dispose());
  } else {
    const A = ImageDataset.fromImages(data.inputs, null, cfg.size, '-1,1');
    const B = ImageDataset.fromImages(data.targets, null, cfg.size, '-1,1');
    // The recipe's schedule and weight EMA; CycleGAN keeps its own lr (2e-4) and batch (1, as published).
    const recipe = { batch: 1, lr: 2e-4, schedule: TRAIN_RECIPE.schedule, ema: TRAIN_RECIPE.ema };
    let steps = cfg.cycleSteps;
    if (values.time) {
      // Throughput from a short throwaway run of the same trainer.
      const t0 = performance.now();
      (await trainCycleGan({ a: A, b: B, generator: zoo, steps: 6, seed: cfg.seed, ...recipe })).model.dispose();
      steps = stepsForTime(Number(values.time), 6000 / (performance.now() - t0));
      log(`${task}: ${steps} CycleGAN steps in ${values.time} s`);
    }
    const { model, losses } = await trainCycleGan({
      a: A,
      b: B,
      generator: zoo,
      steps,
      seed: cfg.seed,
      ...recipe,
      reportEvery: 200,
      onReport: (step, l) => log(`${task} ${step}/${steps} cycle ${l.cycle.toFixed(4)} generator ${l.generator.toFixed(4)}`),
    });
    const initial = buildGenerator({ ...zoo, seed: cfg.seed });
    const movement = await weightMovement(initial, model);
    await write(task, cfg, model, { direction: 'A (day) -> B (night)', steps, recipe, images: cfg.images, finalCycleLoss: losses.cycle, seconds: (performance.now() - started) / 1000, weightMovement: movement.map((m) => ({ layer: m.layer, relative: Number(m.relative.toFixed(4)) })) });
    log(`${task}: weight movement from initial values:\n${formatMovement(movement)}`);
    [model, initial, A, B].forEach((x) => x.dispose());
  }
  await evaluateShipped(preset, cfg);
}
