/** `alap compress`: prune, compensate and distil a model on image folders (or a preset), checkpointed on disk. */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type { RunReport, RunSpec } from '../../core/compress/pipeline';
import { readChannelGraph } from '../../core/graph/channel-graph';
import { formatCount } from '../../core/measure/cost';
import { presetFor } from '../../core/models/presets';
import { exportFormat, UsageError, type Values, formatDuration, num } from '../args';
import { nodeBackend } from '../backend';
import { listImages } from '../images';
import { readModelDir, readModelInfo, trainedSeconds } from '../model-dir';
import { type CliRun, SHIPPED_MODELS, heldOutCount, execute, specFrom, presetData, samplesPng, checkpointDirFor, finish, resumeRun, labelClasses, sideBySide } from '../pipeline-run';

export function printReport(r: RunReport) {
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
    run = { command: 'compress', model: values.model, data: values.data, targets: values.targets, out: values.out, heldOut: 0, backend: nodeBackend(values), force: Boolean(values.force), labelClasses: labelClasses(values), sideBySide: sideBySide(values), format: exportFormat(values.format) };
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
export async function compressionTime(values: Values, preset: boolean): Promise<number | null> {
  if (values.time) return num(values, 'time', 0);
  if (values.steps || preset) return null;
  const trained = trainedSeconds(await readModelInfo(values.model!));
  if (trained === null) return null;
  process.stderr.write(`time budget: 1.5x the base model's training time (${formatDuration(trained)} in its info.json) = ${formatDuration(1.5 * trained)}; --time S or --steps to choose\n`);
  return 1.5 * trained;
}
