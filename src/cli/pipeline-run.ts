/** What `alap compress` and `alap train` share: a pipeline run over image folders, with checkpoints on disk. */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBackend } from '../core/backend';
import { parseBudget } from '../core/compress/budget';
import { DEFAULT_SPEC, PipelineStopped, readRunMeta, runPipeline, type PipelineResult, type Progress, type RunSpec } from '../core/compress/pipeline';
import { parseRunSpec, TRAIN_RECIPE } from '../core/compress/spec';
import { ImageDataset, parseRange, trainingSets } from '../core/data/dataset';
import { colourLabelMap, labelPalette } from '../core/data/labels';
import { defaultHeldOut } from '../core/data/split';
import { generateTask, taskFolders, type TaskName } from '../core/data/tasks';
import type { ExportFormat } from '../core/io/formats';
import { gridImage, sampleGrid } from '../core/measure/samples';
import type { Preset } from '../core/models/presets';
import type { Arch } from '../core/models/zoo';
import { int, progressBar, UsageError, type Values, formatDuration, keyValues, num } from './args';
import { startBackend, type NodeBackendChoice } from './backend';
import { DirCheckpointStore } from './dir-store';
import { encodePng, listImages, readImageFolders } from './images';
import { writeModelDir } from './model-dir';

/** What the CLI needs to redo after a restart, kept in the checkpoint. */
export interface CliRun {
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
  /** --data holds side-by-side AB images (pix2pix style): which half is the input. */
  sideBySide?: 'AtoB' | 'BtoA';
}

/** The shipped base models (public/models/<task>), next to the sources in this repository. */
export const SHIPPED_MODELS = fileURLToPath(new URL('../../public/models/', import.meta.url));

export function heldOutCount(values: Values, n: number): number {
  return int(values, 'held-out') ?? defaultHeldOut(n);
}

export async function loadData(run: CliRun, spec: RunSpec, inChannels: number, outChannels: number) {
  const folders = await readImageFolders(run.data, run.targets, run.sideBySide);
  const { targets } = folders;
  const inputs = run.labelClasses ? folders.inputs.map((img) => colourLabelMap(img, run.labelClasses!)) : folders.inputs;
  if (inputs.length < 2) throw new Error(`Need at least 2 images in '${run.data}' (one is held out for evaluation)`);
  return trainingSets(inputs, targets, { size: spec.size, jitter: spec.jitter, range: spec.inputRange, heldOut: run.heldOut, inChannels, outChannels });
}

export function stageLine(p: Progress): string {
  const loss = p.losses.total !== undefined ? `loss ${p.losses.total.toFixed(4)}` : '';
  const dead = p.deadGroups !== undefined ? ` dead groups ${p.deadGroups}` : '';
  return `${loss}${dead} lr ${p.lr.toExponential(1)} ${p.stepsPerSecond.toFixed(2)} steps/s ETA ${formatDuration(p.etaSeconds)}`;
}

/**
 * Runs the pipeline with a progress bar; Ctrl-C checkpoints and exits cleanly. `evaluate` sees
 * the result and the held-out set before the decoded images are freed.
 */
export async function execute<T>(
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

export const LOSS_TERMS = ['output', 'ssim', 'feature', 'groundTruth', 'adversarial'] as const;

/** A run spec: defaults, then a --spec JSON file, then the individual options. */
export async function specFrom(values: Values, task: RunSpec['task']): Promise<RunSpec> {
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

export function yesNo(text: string, key: string): boolean {
  if (text !== 'yes' && text !== 'no') throw new UsageError(`--${key} must be yes or no, got '${text}'`);
  return text === 'yes';
}

/** Writes `count` images of a built-in task as PNGs into <dir>/<folder A> and <dir>/<folder B>. */
export async function writeTaskData(task: TaskName, count: number, size: number, seed: number, dir: string): Promise<[string, string]> {
  const data = generateTask(task, count, size, seed);
  const folders = data.folders.map((f) => path.join(dir, f)) as [string, string];
  for (const [folder, images] of [[folders[0], data.inputs], [folders[1], data.targets]] as const) {
    await fs.mkdir(folder, { recursive: true });
    for (const img of images) await fs.writeFile(path.join(folder, `${img.name}.png`), encodePng(img.width, img.height, img.channels, img.data));
  }
  return folders;
}

/** A preset's data for a run writing to `out`: generated once into <out>-data and reused. */
export async function presetData(preset: Preset, values: Values, out: string): Promise<[string, string]> {
  const dir = `${out.replace(/\/+$/, '')}-data`;
  const count = int(values, 'count', preset.images)!;
  const size = int(values, 'size', preset.size)!;
  const folders = taskFolders(preset.task).map((f) => path.join(dir, f)) as [string, string];
  if ((await listImages(folders[0]).catch(() => [])).length === count) return folders;
  process.stderr.write(`generating ${count} ${preset.label} images at ${size}px into ${dir}\n`);
  return writeTaskData(preset.task, count, size, int(values, 'seed', 1)!, dir);
}

/** samples.png: held-out inputs, targets (if any) and each model's output, one row per image. */
export async function samplesPng(test: ImageDataset, models: { label: string; model: tf.LayersModel }[]): Promise<{ png: Uint8Array; columns: string[] }> {
  const grid = await sampleGrid(test.inputs, test.targets, models, test.range, test.names);
  const img = gridImage(grid);
  return { png: encodePng(img.width, img.height, img.channels, img.data), columns: grid.columns };
}

export async function checkpointDirFor(values: Values, out: string): Promise<{ dir: string; resuming: boolean }> {
  if (values.resume) return { dir: values.resume, resuming: true };
  const dir = `${out.replace(/\/+$/, '')}.checkpoint`;
  if (await fs.stat(path.join(dir, 'checkpoint.json')).catch(() => null)) {
    throw new Error(`A run is already checkpointed in '${dir}': continue it with --resume ${dir}, or delete that folder to start over`);
  }
  return { dir, resuming: false };
}

export async function finish(run: CliRun, spec: RunSpec, checkpointDir: string, student: tf.LayersModel, report: object, samples: Uint8Array) {
  const extra = { 'report.json': JSON.stringify(report, null, 2), 'samples.png': samples };
  await writeModelDir(student, run.out, extra, { force: run.force, format: run.format, inputRange: spec.inputRange, size: spec.size });
  await fs.rm(checkpointDir, { recursive: true, force: true });
}

export async function resumeRun(values: Values, command: CliRun['command']) {
  const meta = await readRunMeta(new DirCheckpointStore(values.resume!));
  if (!meta) throw new Error(`No checkpoint in '${values.resume}' to resume`);
  const run = meta.meta.cli as CliRun;
  if (run.command !== command) throw new Error(`'${values.resume}' holds a '${run.command}' run; resume it with 'alap ${run.command} --resume'`);
  return { run, spec: meta.spec };
}

/** --side-by-side AtoB|BtoA: --data holds AB images split into input and target (not with --targets). */
export function sideBySide(values: Values): CliRun['sideBySide'] {
  const v = values['side-by-side'];
  if (v === undefined) return undefined;
  if (v !== 'AtoB' && v !== 'BtoA') throw new UsageError(`--side-by-side must be AtoB or BtoA, got '${v}'`);
  if (values.targets) throw new UsageError('--side-by-side takes inputs and targets from the --data images themselves: leave out --targets');
  return v;
}

export function labelClasses(values: Values): number | undefined {
  const classes = int(values, 'label-classes');
  if (classes !== undefined) labelPalette(classes); // checks the range
  return classes;
}
