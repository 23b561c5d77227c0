/** `alap train`: a generator trained on paired image folders or a preset (CycleGAN for the unpaired one), checkpointed on disk. */
import * as tf from '@tensorflow/tfjs';
import { describeBackend } from '../../core/backend';
import { DEFAULT_SPEC, type RunSpec } from '../../core/compress/pipeline';
import { ImageDataset, rangeWidth, trainingSets } from '../../core/data/dataset';
import { measureLatency } from '../../core/measure/latency';
import { formatMovement, weightMovement } from '../../core/measure/movement';
import { predictAll, quality } from '../../core/measure/quality';
import { presetFor, type Preset } from '../../core/models/presets';
import { ARCHS, buildGenerator, defaultSpec, type Arch, sizeMultiple } from '../../core/models/zoo';
import { trainCycleGan } from '../../core/train/cyclegan';
import { fastestBatch, stepsForTime } from '../../core/train/run-size';
import { timedTrainingThroughput } from '../../core/train/throughput';
import { int, progressBar, UsageError, type Values, formatDuration, num } from '../args';
import { nodeBackend, startBackend } from '../backend';
import { listImages, readImageFolders } from '../images';
import { writeModelDir, checkOutDir } from '../model-dir';
import { type CliRun, heldOutCount, execute, specFrom, presetData, samplesPng, checkpointDirFor, finish, resumeRun, labelClasses, sideBySide } from '../pipeline-run';

/** `--batch auto` and `--time S`: the batch this backend trains fastest, and the steps that fit the time. */
export async function sizeToMeasuredSpeed(spec: RunSpec, train: ImageDataset, model: tf.LayersModel, values: Values): Promise<RunSpec> {
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
    if (!values.data || !(values.targets || values['side-by-side'])) throw new UsageError('train needs --data <inputs> and --targets <targets> (paired images), --data <AB images> --side-by-side AtoB|BtoA, or --preset');
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
      sideBySide: sideBySide(values),
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
export async function trainUnpaired(preset: Preset, values: Values, dirA: string, dirB: string) {
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
