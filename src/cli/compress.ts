/** `alap compress` and `alap train`: the pipeline over image folders, with checkpoints on disk. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describeBackend } from '../core/backend';
import { readChannelGraph } from '../core/graph/channel-graph';
import { ImageDataset, parseRange, rangeWidth, trainingSets } from '../core/data/dataset';
import { defaultHeldOut } from '../core/data/split';
import { parseRunSpec, TRAIN_RECIPE } from '../core/compress/spec';
import type { ExportFormat } from '../core/io/formats';
import { fastestBatch, stepsForTime } from '../core/train/run-size';
import { timedTrainingThroughput } from '../core/train/throughput';
import { formatMovement, weightMovement } from '../core/measure/movement';
import { DEFAULT_SPEC, PipelineStopped, readRunMeta, runPipeline, type PipelineResult, type Progress, type RunReport, type RunSpec } from '../core/compress/pipeline';
import { parseBudget } from '../core/compress/budget';
import { formatCount } from '../core/measure/cost';
import { measureLatency } from '../core/measure/latency';
import { predictAll, quality } from '../core/measure/quality';
import { generateTask, taskFolders, taskKind, TASKS, type TaskName } from '../core/data/tasks';
import { colourLabelMap, labelPalette } from '../core/data/labels';
import { gridImage, sampleGrid } from '../core/measure/samples';
import { presetFor, type Preset } from '../core/models/presets';
import { trainCycleGan } from '../core/train/cyclegan';
import { ARCHS, buildGenerator, defaultSpec, sizeMultiple, type Arch } from '../core/models/zoo';
import { exportFormat, formatDuration, int, keyValues, num, progressBar, UsageError, type Values } from './args';
import { nodeBackend, startBackend, type NodeBackendChoice } from './backend';
import { DirCheckpointStore } from './dir-store';
import { encodePng, listImages, readImageFolders } from './images';
import { checkOutDir, readModelDir, readModelInfo, writeModelDir } from './model-dir';

/** What the CLI needs to redo after a restart, kept in the checkpoint. */
interface CliRun {
  command: 'compress' | 'train';
  model?: string;
  arch?: Arch;
  ngf?: number;
  blocks?: number;
  /** A preset's down-samplings and normalisation (the zoo's defaults otherwise). */
  downsamplings?: number;
  norm?: 'instance' | 'batch';
  data: string;
  targets?: string;
  out: string;
  heldOut: number;
  backend: NodeBackendChoice;
  force: boolean;
  /** Format of the written model (compress --format; default tfjs Layers). */
  format?: ExportFormat;
  /** The inputs are grey label maps with this many classes (drawn in the label palette). */
  labelClasses?: number;
}

/** The shipped base models (public/models/<task>), next to the sources in this repository. */
const SHIPPED_MODELS = fileURLToPath(new URL('../../public/models/', import.meta.url));

function heldOutCount(values: Values, n: number): number {
  return int(values, 'held-out') ?? defaultHeldOut(n);
}

async function loadData(run: CliRun, spec: RunSpec, inChannels: number, outChannels: number) {
  const folders = await readImageFolders(run.data, run.targets);
  const { targets } = folders;
  const inputs = run.labelClasses ? folders.inputs.map((img) => colourLabelMap(img, run.labelClasses!)) : folders.inputs;
  if (inputs.length < 2) throw new Error(`Need at least 2 images in '${run.data}' (one is held out for evaluation)`);
  return trainingSets(inputs, targets, { size: spec.size, jitter: spec.jitter, range: spec.inputRange, heldOut: run.heldOut, inChannels, outChannels });
}

function stageLine(p: Progress): string {
  const loss = p.losses.total !== undefined ? `loss ${p.losses.total.toFixed(4)}` : '';
  const dead = p.deadGroups !== undefined ? ` dead groups ${p.deadGroups}` : '';
  return `${loss}${dead} lr ${p.lr.toExponential(1)} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${formatDuration(p.etaSeconds)}`;
}

/**
 * Runs the pipeline with a progress bar; Ctrl-C checkpoints and exits cleanly. `evaluate` sees
 * the result and the held-out set before the decoded images are freed.
 */
async function execute<T>(
  run: CliRun,
  spec: RunSpec,
  model: tf.LayersModel,
  checkpointDir: string,
  resuming: boolean,
  evaluate: (result: PipelineResult, test: ImageDataset, spec: RunSpec) => Promise<T>,
  /** A new run's last say on its spec once data and backend are ready (batch and steps from measured speed). */
  prepare?: (spec: RunSpec, train: ImageDataset) => Promise<RunSpec>,
): Promise<T> {
  const inC = model.inputs[0].shape[3]!;
  const outC = model.outputs[0].shape[3]!;
  const { train, test } = await loadData(run, spec, inC, outC);
  const info = await startBackend(run.backend);
  if (prepare && !resuming) spec = await prepare(spec, train);
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  const store = new DirCheckpointStore(checkpointDir);
  if (resuming) process.stderr.write(`resuming from ${checkpointDir}\n`);
  try {
    const result = await runPipeline({
      spec,
      model,
      train,
      test,
      store,
      meta: { cli: run },
      backend: describeBackend(info),
      device: `${process.platform} ${process.arch}, node ${process.version}`,
      shouldStop: () => stop,
      onProgress: (p) => {
        if (!bars.has(p.stage)) bars.set(p.stage, progressBar(p.stage.padEnd(8)));
        bars.get(p.stage)!(p.step, p.steps, stageLine(p));
        if (p.alive && p.step === p.steps) {
          process.stderr.write(`alive channels after condensation: ${p.alive.map((a) => `${a.layer} ${a.alive}/${a.total}`).join(', ')}\n`);
        }
      },
    });
    return await evaluate(result, test, spec);
  } catch (e) {
    if (e instanceof PipelineStopped) {
      throw new Error(`${e.message}: run 'alap ${run.command} --resume ${checkpointDir}'`);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    train.dispose();
    test.dispose();
  }
}

const LOSS_TERMS = ['output', 'ssim', 'feature', 'groundTruth', 'adversarial'] as const;

/** A run spec: defaults, then a --spec JSON file, then the individual options. */
async function specFrom(values: Values, task: RunSpec['task']): Promise<RunSpec> {
  let base: RunSpec = { ...DEFAULT_SPEC, task };
  if (task === 'train') {
    const { lr, ...recipe } = TRAIN_RECIPE;
    base = { ...base, ...recipe, steps: { train: 1000, condense: 0, distill: 0 }, lr: { ...base.lr, train: lr } };
  }
  if (values.spec) {
    const text = await fs.readFile(values.spec, 'utf8').catch(() => {
      throw new Error(`Cannot read the run spec '${values.spec}'`);
    });
    let json: Partial<RunSpec> & { spec?: Partial<RunSpec> };
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`Run spec '${values.spec}' is not valid JSON (${(e as Error).message})`);
    }
    // A run's report.json carries the whole spec it ran with: running it again reproduces the run.
    if (json && typeof json === 'object' && 'spec' in json && 'macs' in json) json = json.spec!;
    base = parseRunSpec({ ...base, ...json, task, steps: { ...base.steps, ...json.steps }, lr: { ...base.lr, ...json.lr }, loss: { ...base.loss, ...json.loss } }, `Run spec '${values.spec}'`);
  }
  const steps = { ...base.steps };
  if (values.steps) {
    if (task === 'train') steps.train = int(values, 'steps')!;
    else Object.assign(steps, keyValues(values.steps, 'steps', ['condense', 'distill']));
  }
  const lr = { ...base.lr };
  if (values.lr) {
    if (task === 'train') lr.train = num(values, 'lr', lr.train);
    else Object.assign(lr, keyValues(values.lr, 'lr', ['condense', 'distill']));
  }
  const loss = { ...base.loss, ...(values.loss ? keyValues(values.loss, 'loss', LOSS_TERMS) : {}) };
  const teacher = values.teacher ?? base.teacher;
  if (teacher !== 'condensed' && teacher !== 'original') throw new UsageError(`--teacher must be condensed or original, got '${teacher}'`);
  const budget = values.budget ?? base.budget;
  if (budget) parseBudget(budget);
  const pixelLoss = values['pixel-loss'] ?? base.pixelLoss;
  if (pixelLoss !== 'l1' && pixelLoss !== 'mse') throw new UsageError(`--pixel-loss must be l1 or mse, got '${pixelLoss}'`);
  const selection = values.selection ?? base.selection;
  if (selection !== 'importance' && selection !== 'magnitude') throw new UsageError(`--selection must be importance or magnitude, got '${selection}'`);
  const teacherCache = values['teacher-cache'] === '0' ? 0 : int(values, 'teacher-cache', base.teacherCache)!;
  return parseRunSpec({
    ...base,
    size: int(values, 'size', base.size)!,
    inputRange: values['input-range'] ? parseRange(values['input-range']) : parseRange(base.inputRange),
    seed: int(values, 'seed', base.seed)!,
    batchSize: values.batch === 'auto' ? base.batchSize : int(values, 'batch', base.batchSize)!,
    steps,
    lr,
    loss,
    sparsity: num(values, 'sparsity', base.sparsity),
    budget,
    teacher,
    checkpointEvery: int(values, 'checkpoint-every', base.checkpointEvery)!,
    flip: values.flip === undefined ? base.flip : yesNo(values.flip, 'flip'),
    selection,
    channelMultiple: int(values, 'channel-multiple', base.channelMultiple)!,
    pixelLoss,
    compensate: values.compensate === undefined ? base.compensate : yesNo(values.compensate, 'compensate'),
    teacherCache,
    jitter: values.jitter === undefined ? base.jitter : num(values, 'jitter', 0),
  }, 'The options given');
}

/** `--batch auto` and `--time S`: the batch this backend trains fastest, and the steps that fit the time. */
async function sizeToMeasuredSpeed(spec: RunSpec, train: ImageDataset, model: tf.LayersModel, values: Values): Promise<RunSpec> {
  if (values.batch !== 'auto' && !values.time) return spec;
  const measure = timedTrainingThroughput(model, train, spec.size);
  let batchSize = spec.batchSize;
  let imagesPerSecond: number | undefined;
  if (values.batch === 'auto') {
    const choice = await fastestBatch([1, 2, 4, 8, 16], measure);
    process.stderr.write(`training throughput: ${choice.table.map((t) => `batch ${t.batch} ${t.imagesPerSecond.toFixed(1)} images/s`).join(', ')}; using batch ${choice.batch}\n`);
    ({ batch: batchSize, imagesPerSecond } = choice);
  }
  const steps = { ...spec.steps };
  if (values.time) {
    const seconds = num(values, 'time', 0);
    imagesPerSecond ??= await measure(batchSize);
    steps.train = stepsForTime(seconds, imagesPerSecond / batchSize);
    process.stderr.write(`time budget ${formatDuration(seconds)}: ${steps.train} steps of batch ${batchSize} at ${(imagesPerSecond / batchSize).toFixed(2)} steps/s\n`);
  }
  return { ...spec, batchSize, steps };
}

function yesNo(text: string, key: string): boolean {
  if (text !== 'yes' && text !== 'no') throw new UsageError(`--${key} must be yes or no, got '${text}'`);
  return text === 'yes';
}

/** Writes `count` images of a built-in task as PNGs into <dir>/<folder A> and <dir>/<folder B>. */
async function writeTaskData(task: TaskName, count: number, size: number, seed: number, dir: string): Promise<[string, string]> {
  const data = generateTask(task, count, size, seed);
  const folders = data.folders.map((f) => path.join(dir, f)) as [string, string];
  for (const [folder, images] of [[folders[0], data.inputs], [folders[1], data.targets]] as const) {
    await fs.mkdir(folder, { recursive: true });
    for (const img of images) await fs.writeFile(path.join(folder, `${img.name}.png`), encodePng(img.width, img.height, img.channels, img.data));
  }
  return folders;
}

/** A preset's data for a run writing to `out`: generated once into <out>-data and reused. */
async function presetData(preset: Preset, values: Values, out: string): Promise<[string, string]> {
  const dir = `${out.replace(/\/+$/, '')}-data`;
  const count = int(values, 'count', preset.images)!;
  const size = int(values, 'size', preset.size)!;
  const folders = taskFolders(preset.task).map((f) => path.join(dir, f)) as [string, string];
  if ((await listImages(folders[0]).catch(() => [])).length === count) return folders;
  process.stderr.write(`generating ${count} ${preset.label} images at ${size}px into ${dir}\n`);
  return writeTaskData(preset.task, count, size, int(values, 'seed', 1)!, dir);
}

/** samples.png: held-out inputs, targets (if any) and each model's output, one row per image. */
async function samplesPng(test: ImageDataset, models: { label: string; model: tf.LayersModel }[]): Promise<{ png: Uint8Array; columns: string[] }> {
  const grid = await sampleGrid(test.inputs, test.targets, models, test.range, test.names);
  const img = gridImage(grid);
  return { png: encodePng(img.width, img.height, img.channels, img.data), columns: grid.columns };
}

async function checkpointDirFor(values: Values, out: string): Promise<{ dir: string; resuming: boolean }> {
  if (values.resume) return { dir: values.resume, resuming: true };
  const dir = `${out.replace(/\/+$/, '')}.checkpoint`;
  if (await fs.stat(path.join(dir, 'checkpoint.json')).catch(() => null)) {
    throw new Error(`A run is already checkpointed in '${dir}': continue it with --resume ${dir}, or delete that folder to start over`);
  }
  return { dir, resuming: false };
}

async function finish(run: CliRun, spec: RunSpec, checkpointDir: string, student: tf.LayersModel, report: object, samples: Uint8Array) {
  const extra = { 'report.json': JSON.stringify(report, null, 2), 'samples.png': samples };
  await writeModelDir(student, run.out, extra, { force: run.force, format: run.format, inputRange: spec.inputRange, size: spec.size });
  await fs.rm(checkpointDir, { recursive: true, force: true });
}

function printReport(r: RunReport) {
  // Identical images have an infinite PSNR, which a JSON checkpoint stores as null.
  const q = (x: { psnr: number | null; ssim: number }) => `PSNR ${x.psnr === null || x.psnr === Infinity ? '∞ (identical)' : `${x.psnr.toFixed(2)} dB`}, SSIM ${x.ssim.toFixed(4)}`;
  console.log(`backend: ${r.backend}`);
  console.log(`MACs:    ${formatCount(r.macs.before)} -> ${formatCount(r.macs.after)} (${r.macs.ratio.toFixed(2)}x fewer)`);
  console.log(`params:  ${formatCount(r.params.before)} -> ${formatCount(r.params.after)} (${r.params.ratio.toFixed(2)}x fewer)`);
  console.log(`latency: ${r.latency.before.medianMs.toFixed(1)} ms -> ${r.latency.after.medianMs.toFixed(1)} ms (${r.latency.speedup.toFixed(2)}x faster) at ${r.size[0]}x${r.size[1]}`);
  if (r.fps) {
    const verdict = r.fps.met ? 'met' : 'NOT met';
    console.log(`FPS at ${r.fps.size}x${r.fps.size}: target ${r.fps.target}, original ${r.fps.before.fps.toFixed(1)}, compressed ${r.fps.after.fps.toFixed(1)} (${verdict}; ${r.fps.search.length} candidates measured)`);
  }
  if (r.compensation) {
    const c = r.compensation;
    console.log(`compensation: ${c.layers} convolutions refitted in ${formatDuration(c.seconds)}; before any training step ${q(c.sliced)} sliced -> ${q(c.refitted)} refitted (vs the model pruned)`);
  }
  if (r.distillSteps) console.log(`distillation: ${r.distillSteps} steps${r.distillReverted ? ", which left the student further from the original than the refit alone did (on training crops): the refitted student was kept" : ''}`);
  console.log(`student vs original (held-out): ${q(r.studentVsOriginal)}`);
  if (r.vsTargets) console.log(`vs targets (held-out): original ${q(r.vsTargets.original)}; student ${q(r.vsTargets.student)}`);
  const stages = Object.entries(r.seconds).map(([s, t]) => `${s} ${formatDuration(t!)}`);
  console.log(`time: ${stages.join(', ')}`);
}

async function resumeRun(values: Values, command: CliRun['command']) {
  const meta = await readRunMeta(new DirCheckpointStore(values.resume!));
  if (!meta) throw new Error(`No checkpoint in '${values.resume}' to resume`);
  const run = meta.meta.cli as CliRun;
  if (run.command !== command) throw new Error(`'${values.resume}' holds a '${run.command}' run; resume it with 'alap ${run.command} --resume'`);
  return { run, spec: meta.spec };
}

export async function compress(values: Values) {
  let run: CliRun;
  let spec: RunSpec;
  if (values.resume) {
    ({ run, spec } = await resumeRun(values, 'compress'));
  } else {
    if (!values.out) throw new UsageError('compress needs --out <dir>');
    const preset = values.preset ? presetFor(values.preset) : null;
    if (preset) {
      // The shipped base model on generated data, with the preset's first-run settings unless given.
      const [inputs, targets] = await presetData(preset, values, values.out);
      Object.assign(values, { model: path.join(SHIPPED_MODELS, preset.task), data: inputs, targets: preset.task === 'unpaired' ? undefined : targets });
      values.size ??= String(preset.size);
      values.budget ??= preset.compress.budget;
      values.steps ??= `condense=${preset.compress.condense},distill=${preset.compress.distill}`;
    }
    if (!values.model) throw new UsageError('compress needs --model <model.json|dir> (or --preset)');
    if (!values.data) throw new UsageError('compress needs --data <image folder> (or --preset)');
    spec = await specFrom(values, 'compress');
    spec = { ...spec, time: await compressionTime(values, preset !== null) };
    run = { command: 'compress', model: values.model, data: values.data, targets: values.targets, out: values.out, heldOut: 0, backend: nodeBackend(values), force: Boolean(values.force), labelClasses: labelClasses(values), format: exportFormat(values.format) };
  }
  await tf.setBackend('cpu');
  const model = await readModelDir(run.model!);
  readChannelGraph(model); // an unsupported model fails here, before any data is read
  const { dir, resuming } = await checkpointDirFor(values, run.out);
  if (!resuming) run.heldOut = heldOutCount(values, (await listImages(run.data)).length);
  const { student, report, samples } = await execute(run, spec, model, dir, resuming, async (result, test) => ({
    ...result,
    samples: await samplesPng(test, [
      { label: 'original', model },
      { label: 'compressed', model: result.student },
    ]),
  }));
  await finish(run, spec, dir, student, report!, samples.png);
  printReport(report!);
  console.log(`wrote ${run.out}/model.json, weights.bin, report.json, samples.png (held-out: ${samples.columns.join(' | ')})`);
}

/**
 * `--time S` for a compression run; without it, 1.5x the base's training time where its info.json
 * records one (unless --steps or a preset's first-run steps were given), else the step counts.
 */
async function compressionTime(values: Values, preset: boolean): Promise<number | null> {
  if (values.time) return num(values, 'time', 0);
  if (values.steps || preset) return null;
  const trained = (await readModelInfo(values.model!))?.seconds;
  if (typeof trained !== 'number' || !(trained > 0)) return null;
  process.stderr.write(`time budget: 1.5x the base model's training time (${formatDuration(trained)} in its info.json) = ${formatDuration(1.5 * trained)}; --time S or --steps to choose\n`);
  return 1.5 * trained;
}

export async function train(values: Values) {
  let run: CliRun;
  let spec: RunSpec;
  if (values.resume) {
    ({ run, spec } = await resumeRun(values, 'train'));
  } else {
    if (!values.out) throw new UsageError('train needs --out <dir>');
    const preset = values.preset ? presetFor(values.preset) : null;
    if (preset) {
      const [inputs, targets] = await presetData(preset, values, values.out);
      if (preset.task === 'unpaired') return trainUnpaired(preset, values, inputs, targets);
      Object.assign(values, { data: inputs, targets });
      values.arch ??= preset.arch;
      values.ngf ??= String(preset.ngf);
      values.blocks ??= String(preset.blocks);
      values.size ??= String(preset.size);
    }
    const arch = values.arch as Arch;
    if (!ARCHS.includes(arch)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')} (or use --preset)`);
    if (!values.data || !values.targets) throw new UsageError('train needs --data <inputs> and --targets <targets> (paired images), or --preset');
    spec = await specFrom(values, 'train');
    run = {
      command: 'train',
      arch,
      ngf: int(values, 'ngf'),
      blocks: int(values, 'blocks'),
      ...(preset && { downsamplings: preset.downsamplings, norm: preset.norm }),
      data: values.data,
      targets: values.targets,
      out: values.out,
      heldOut: 0,
      backend: nodeBackend(values),
      force: Boolean(values.force),
      labelClasses: labelClasses(values),
    };
  }
  const zoo = defaultSpec(run.arch!, {
    size: spec.size,
    ...(run.ngf && { ngf: run.ngf }),
    ...(run.blocks && { depth: run.blocks }),
    ...(run.downsamplings !== undefined && { downsamplings: run.downsamplings }),
    ...(run.norm && { norm: run.norm }),
    seed: spec.seed,
    inChannels: 3,
  });
  if (spec.size % sizeMultiple(zoo) !== 0) throw new UsageError(`--size must be a multiple of ${sizeMultiple(zoo)} for ${run.arch}`);
  await tf.setBackend('cpu');
  const model = buildGenerator(zoo);
  const { dir, resuming } = await checkpointDirFor(values, run.out);
  if (!resuming) run.heldOut = heldOutCount(values, (await listImages(run.data)).length);
  // Quality on the held-out pairs and latency of the trained model.
  const started = performance.now();
  const { student, q, latency, samples, movement, steps, batchSize } = await execute(
    run,
    spec,
    model,
    dir,
    resuming,
    async ({ student }, test, ran) => {
      const predicted = predictAll(student, test.inputs);
      const q = await quality(predicted, test.targets!, rangeWidth(spec.inputRange));
      predicted.dispose();
      const latency = await measureLatency(student, [1, spec.size, spec.size, 3], { runs: spec.latencyRuns });
      // The same seed rebuilds the initial weights: how far training moved each layer.
      const initial = buildGenerator(zoo);
      const movement = await weightMovement(initial, student);
      initial.dispose();
      return { student, q, latency, movement, steps: ran.steps.train, batchSize: ran.batchSize, samples: await samplesPng(test, [{ label: 'trained', model: student }]) };
    },
    (s, data) => sizeToMeasuredSpeed(s, data, model, values),
  );
  const seconds = (performance.now() - started) / 1000;
  const report = { arch: run.arch, spec: zoo, steps, batchSize, heldOut: run.heldOut, vsTargets: q, latency, seconds, weightMovement: movement };
  await finish(run, spec, dir, student, report, samples.png);
  process.stderr.write(`weight movement from the initial values (‖W − W₀‖ / ‖W₀‖ per layer):\n${formatMovement(movement)}\n`);
  console.log(`${run.arch} trained for ${steps} steps: held-out PSNR ${q.psnr.toFixed(2)} dB, SSIM ${q.ssim.toFixed(4)}; ${latency.medianMs.toFixed(1)} ms per frame`);
  console.log(`wrote ${run.out}/model.json, weights.bin, report.json, samples.png (held-out: ${samples.columns.join(' | ')})`);
}

/**
 * CycleGAN training of the unpaired preset (two generators, two discriminators; G: A -> B is
 * written). Not checkpointed: a cut-off run starts again.
 */
async function trainUnpaired(preset: Preset, values: Values, dirA: string, dirB: string) {
  if (values.resume) throw new UsageError('CycleGAN training (--preset unpaired) cannot be resumed; run it again');
  const size = int(values, 'size', preset.size)!;
  const steps = int(values, 'steps', 600)!;
  const seed = int(values, 'seed', 1)!;
  await checkOutDir(values.out!, Boolean(values.force)); // before the training, not after
  const info = await startBackend(nodeBackend(values));
  const [a, b] = [(await readImageFolders(dirA)).inputs, (await readImageFolders(dirB)).inputs];
  const heldOut = heldOutCount(values, a.length);
  const setsA = trainingSets(a, null, { size, range: '-1,1', heldOut });
  const setB = ImageDataset.fromImages(b, null, size, '-1,1');
  const bar = progressBar('cyclegan');
  const started = performance.now();
  try {
    const generator = defaultSpec(preset.arch, { ngf: int(values, 'ngf', preset.ngf), depth: int(values, 'blocks', preset.blocks), downsamplings: preset.downsamplings, norm: preset.norm, size: null });
    const { model, losses } = await trainCycleGan({
      a: setsA.train,
      b: setB,
      generator,
      steps,
      seed,
      lr: num(values, 'lr', DEFAULT_SPEC.lr.train),
      reportEvery: 1,
      onReport: (step, l) => bar(step, steps, `cycle ${l.cycle.toFixed(4)} generator ${l.generator.toFixed(4)}`),
    });
    const samples = await samplesPng(setsA.test, [{ label: 'A -> B', model }]);
    const report = { preset: preset.task, backend: describeBackend(info), spec: generator, steps, seed, images: a.length, heldOut, finalLosses: losses, seconds: (performance.now() - started) / 1000 };
    await writeModelDir(model, values.out!, { 'report.json': JSON.stringify(report, null, 2), 'samples.png': samples.png }, { force: Boolean(values.force) });
    model.dispose();
    console.log(`CycleGAN (${preset.label}) trained for ${steps} steps: final cycle loss ${losses.cycle.toFixed(4)}, identity ${losses.identity.toFixed(4)}`);
    console.log(`wrote ${values.out}/model.json, weights.bin, report.json, samples.png (held-out A images: ${samples.columns.join(' | ')})`);
  } finally {
    setsA.train.dispose();
    setsA.test.dispose();
    setB.dispose();
  }
}

function labelClasses(values: Values): number | undefined {
  const classes = int(values, 'label-classes');
  if (classes !== undefined) labelPalette(classes); // checks the range
  return classes;
}


/** `alap data`: writes a built-in task's images as PNG folders. */
export async function makeData(values: Values) {
  const task = (values.task ?? 'shapes') as TaskName;
  if (!TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got '${task}'`);
  if (!values.out) throw new UsageError('data needs --out <dir>');
  const count = int(values, 'count', 40)!;
  const size = int(values, 'size', 128)!;
  const [a, b] = await writeTaskData(task, count, size, int(values, 'seed', 1)!, values.out);
  const what = taskKind(task) === 'paired' ? `${count} ${size}x${size} pairs` : `${count} + ${count} unpaired ${size}x${size} images`;
  console.log(`wrote ${what} (${task}) to ${a} and ${b}`);
}
