/**
 * `alap`: the studio's core, headless. Commands: create, inspect, prune, bench, compress, train,
 * data, run, convert.
 * Errors from bad input end in one sentence on stderr and exit code 1.
 */
import * as tf from '@tensorflow/tfjs';
import { describeBackend } from '../core/backend';
import { readChannelGraph, type ChannelGraph } from '../core/graph/channel-graph';
import { modelCost, formatCount, resolveSize } from '../core/measure/cost';
import { layerLatencies, measureLatency, type Latency } from '../core/measure/latency';
import { parseBudget } from '../core/compress/budget';
import { pruneModel, selectGroups } from '../core/compress/prune';
import { ARCHS, buildGenerator, defaultSpec, type Arch } from '../core/models/zoo';
import { EXPORT_FORMATS } from '../core/io/formats';
import { readModelDir, readModelInfo, writeModelDir } from './model-dir';
import { exportFormat, int, parse, progressBar, UsageError, type Values } from './args';
import { backends, nodeBackend, startBackend } from './backend';
import { compress, makeData, train } from './compress';
import { dataFromPhotos, runModel } from './photos';

const USAGE = `Usage:
  alap create --arch resnet|unet|globalgen --out <dir> [--ngf N] [--blocks N] [--size N|any]
              [--in-channels N] [--out-channels N] [--seed N] [--force]
  alap convert <model.json|dir|model.onnx> --to tfjs-graph|tfjs-layers|onnx --out <dir> [--input-range -1,1|0,1|0,255] [--size N] [--force]
              (the model in another format, with a README.md showing how to load and run it)
  alap inspect <model.json|dir|model.onnx> [--size N] [--json]
  alap prune <model.json|dir|model.onnx> --budget macs=0.25|params=0.5|threshold=1e-3 --out <dir>
             [--size N] [--backend auto|wasm|cpu] [--runs N] [--force]
  alap bench <model.json|dir|model.onnx> [--size N] [--backend auto|wasm|cpu] [--runs N] [--warmup N] [--layers]
  alap compress --model <model.json|dir|model.onnx> --data <dir> [--targets <dir>] --out <dir>
                [--format tfjs-layers|tfjs-graph|onnx]
                [--input-range -1,1|0,1|0,255] [--size 128] [--budget macs=0.25|params=0.5|threshold=T|fps=30[@256]]
                [--steps condense=N,distill=M] [--teacher condensed|original] [--sparsity S]
                [--lr condense=..,distill=..] [--batch N] [--held-out N] [--seed N] [--backend auto|wasm|cpu]
                [--loss output=1,ssim=0,feature=0,groundTruth=0,adversarial=0] [--pixel-loss l1|mse] [--label-classes K]
                [--flip yes|no] [--jitter 0.125] [--spec run.json] [--checkpoint-every N] [--force]
                [--time S] [--selection importance|magnitude] [--compensate yes|no] [--teacher-cache N]
                [--channel-multiple N]
                (--channel-multiple: keep pruned layers' channels at multiples of N; 8 suits tfjs-wasm)
                (--time: wall time of the whole run, distillation takes what is left; default 1.5x the
                 base's training time when its info.json records it and no --steps are given)
  alap compress --preset mask-to-face|face-to-cartoon|unpaired --out <dir> [--count N] [options above]
                (the shipped base model on generated data, kept in <out>-data)
  alap compress --resume <checkpoint dir>
  alap data --out <dir> [--task shapes|mask-to-face|face-to-cartoon|unpaired] [--count 40] [--size 128] [--seed N]
  alap data --task face-to-cartoon --from <folder of photos> --out <dir> [--size 256]
            (each photo centre-cropped and resized; its target is the cartoon filter's output)
  alap run <model.json|dir|model.onnx> --data <image folder> --out <dir> [--size N] [--input-range -1,1|0,1|0,255]
           (the model's output for every image, as PNGs of the same names)
  alap train --arch resnet|unet|globalgen --data <dir> --targets <dir> --out <dir>
             [--size 128] [--steps N] [--ngf N] [--blocks N] [--lr R] [--batch N] [--seed N]
             [--loss output=1,ssim=0.2,adversarial=0] [--label-classes K] [--flip yes|no] [--jitter F]
  alap train --preset mask-to-face|face-to-cartoon|unpaired --out <dir> [--count N] [--steps N] [--size N]
             (unpaired trains a CycleGAN: two generators, two discriminators, cycle + identity losses)
  alap train --resume <dir>
  alap backends [<model.json|dir|model.onnx>] [--size N]
             (measures wasm and cpu as the studio's probe does; which auto picks for training, and for the model)

--label-classes K: the inputs are label maps (grey value = class index < K), drawn in the label palette.
Every run writes the model (model.json + weights.bin; --format tfjs-graph: a graph model that plain
tf.loadGraphModel runs; --format onnx: model.onnx), README.md, report.json and samples.png
(held-out images, one row each).`;

function modelArg(positionals: string[]): string {
  if (!positionals[1]) throw new UsageError(`'${positionals[0]}' needs a model: a model.json file or its folder`);
  return positionals[1];
}

function backend(values: Values) {
  return startBackend(nodeBackend(values));
}

function summary(graph: ChannelGraph, size: [number, number]) {
  const cost = modelCost(graph, size);
  const prunable = graph.groups.filter((g) => g.prunable);
  return { cost, groups: graph.groups.length, prunable: prunable.length };
}

async function create(values: Values) {
  const arch = values.arch as Arch;
  if (!ARCHS.includes(arch)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')}`);
  if (!values.out) throw new UsageError('create needs --out <dir>');
  const size = values.size === 'any' ? null : int(values, 'size', 256)!;
  const spec = defaultSpec(arch, {
    size,
    ...(values.ngf && { ngf: int(values, 'ngf') }),
    ...(values.blocks && { depth: int(values, 'blocks') }),
    ...(values['in-channels'] && { inChannels: int(values, 'in-channels') }),
    ...(values['out-channels'] && { outChannels: int(values, 'out-channels') }),
    ...(values.seed && { seed: int(values, 'seed') }),
  });
  await tf.setBackend('cpu');
  const model = buildGenerator(spec);
  const files = await writeModelDir(model, values.out, {}, { force: values.force });
  console.log(`wrote ${arch} (ngf=${spec.ngf}, depth=${spec.depth}, ${model.countParams()} params) to ${values.out}: ${files.join(', ')}`);
}

async function inspect(positionals: string[], values: Values) {
  await tf.setBackend('cpu');
  const model = await readModelDir(modelArg(positionals));
  const graph = readChannelGraph(model);
  const size = resolveSize(graph, int(values, 'size'));
  const { cost, groups, prunable } = summary(graph, size);
  if (values.json) {
    const layers = cost.layers.map((l) => ({ ...l, groups: new Set(graph.byName.get(l.name)!.channels).size }));
    console.log(JSON.stringify({ name: model.name, size, macs: cost.macs, params: cost.params, groups, prunableGroups: prunable, layers }, null, 2));
    return;
  }
  console.log(`${model.name}: input ${JSON.stringify(model.inputs[0].shape)}, measured at ${size[0]}x${size[1]}`);
  console.log(`${'layer'.padEnd(22)} ${'class'.padEnd(22)} ${'output'.padEnd(16)} ${'MACs'.padStart(10)} ${'params'.padStart(10)}`);
  for (const l of cost.layers) {
    const shape = `${l.outShape[0]}x${l.outShape[1]}x${l.outShape[2]}`;
    console.log(`${l.name.padEnd(22)} ${l.className.padEnd(22)} ${shape.padEnd(16)} ${formatCount(l.macs).padStart(10)} ${formatCount(l.params).padStart(10)}`);
  }
  console.log(`total: ${formatCount(cost.macs)}MACs (${cost.macs}), ${formatCount(cost.params)} params (${cost.params})`);
  console.log(`channel groups: ${groups} (${prunable} prunable, ${groups - prunable} pinned: model inputs/outputs and what they fix)`);
}

function latencyLine(label: string, l: Latency) {
  return `${label}: median ${l.medianMs.toFixed(1)} ms, p95 ${l.p95Ms.toFixed(1)} ms, ${l.fps.toFixed(1)} FPS (${l.runs} runs)`;
}

async function bench(positionals: string[], values: Values) {
  const info = await backend(values);
  const model = await readModelDir(modelArg(positionals));
  const graph = readChannelGraph(model);
  const size = resolveSize(graph, int(values, 'size'));
  const shape = [1, size[0], size[1], graph.layers[0].channels.length];
  const lat = await measureLatency(model, shape, { runs: int(values, 'runs', 20), warmup: int(values, 'warmup', 3), onRun: progressBar('bench') });
  const cost = modelCost(graph, size);
  console.log(`backend: ${describeBackend(info)}`);
  console.log(`${model.name} at ${size[0]}x${size[1]}: ${formatCount(cost.macs)}MACs`);
  console.log(latencyLine('latency', lat));
  console.log(`effective ${((cost.macs * 2) / (lat.medianMs * 1e6)).toFixed(2)} GFLOP/s`);
  if (values.layers) {
    const macsOf = new Map(cost.layers.map((l) => [l.name, l.macs]));
    const profile = (await layerLatencies(model, shape, int(values, 'runs', 20))).sort((a, b) => b.ms - a.ms);
    console.log(`per layer (median of the runs, slowest first; MACs are not time):`);
    console.log(`${'layer'.padEnd(22)} ${'class'.padEnd(22)} ${'ms'.padStart(8)} ${'share'.padStart(7)} ${'MACs'.padStart(9)} ${'GMAC/s'.padStart(8)}`);
    for (const l of profile) {
      const macs = macsOf.get(l.name) ?? 0;
      const rate = macs && l.ms > 0 ? (macs / (l.ms * 1e6)).toFixed(2) : '-';
      console.log(`${l.name.padEnd(22)} ${l.className.padEnd(22)} ${l.ms.toFixed(2).padStart(8)} ${(l.share * 100).toFixed(1).padStart(6)}% ${formatCount(macs).padStart(9)} ${rate.padStart(8)}`);
    }
  }
}

async function prune(positionals: string[], values: Values) {
  if (!values.budget) throw new UsageError('prune needs --budget, e.g. macs=0.25');
  if (!values.out) throw new UsageError('prune needs --out <dir>');
  const budget = parseBudget(values.budget);
  const info = await backend(values);
  const model = await readModelDir(modelArg(positionals));
  const graph = readChannelGraph(model);
  const size = resolveSize(graph, int(values, 'size'));
  const selection = await selectGroups(graph, budget, size);
  const pruned = await pruneModel(graph, selection.removed);
  const before = modelCost(graph, size);
  const after = modelCost(readChannelGraph(pruned), size);
  const shape = [1, size[0], size[1], graph.layers[0].channels.length];
  const runs = int(values, 'runs', 20);
  const latBefore = await measureLatency(model, shape, { runs, onRun: progressBar('latency before') });
  const latAfter = await measureLatency(pruned, shape, { runs, onRun: progressBar('latency after ') });
  const report = {
    budget: values.budget,
    size,
    backend: describeBackend(info),
    removedGroups: selection.removed.size,
    keptToAvoidEmptyLayer: selection.keptToAvoidEmptyLayer,
    before: { macs: before.macs, params: before.params, latency: latBefore },
    after: { macs: after.macs, params: after.params, latency: latAfter },
    macsRatio: before.macs / after.macs,
    speedup: latBefore.medianMs / latAfter.medianMs,
  };
  await writeModelDir(pruned, values.out, { 'prune-report.json': JSON.stringify(report, null, 2) }, { force: values.force });
  console.log(`backend: ${report.backend}`);
  console.log(`removed ${selection.removed.size} channel groups (budget ${values.budget}) at ${size[0]}x${size[1]}`);
  console.log(`MACs:   ${formatCount(before.macs)} -> ${formatCount(after.macs)} (${report.macsRatio.toFixed(2)}x fewer)`);
  console.log(`params: ${formatCount(before.params)} -> ${formatCount(after.params)} (${(before.params / after.params).toFixed(2)}x fewer)`);
  console.log(latencyLine('latency before', latBefore));
  console.log(latencyLine('latency after ', latAfter));
  console.log(`measured speed-up: ${report.speedup.toFixed(2)}x (MACs ratio ${report.macsRatio.toFixed(2)}x)`);
  console.log(`wrote ${values.out}/model.json, weights.bin, prune-report.json`);
}

/** Rewrites a model (tfjs Layers folder or .onnx file) in another format, checked by running both. */
async function convert(positionals: string[], values: Values) {
  if (!values.to) throw new UsageError(`convert needs --to ${EXPORT_FORMATS.join('|')}`);
  if (!values.out) throw new UsageError('convert needs --out <dir>');
  const format = exportFormat(values.to, 'to');
  await backend(values);
  const source = modelArg(positionals);
  const model = await readModelDir(source);
  const info = await readModelInfo(source).catch(() => null);
  const inputRange = values['input-range'] ?? (typeof info?.inputRange === 'string' ? info.inputRange : '-1,1');
  const files = await writeModelDir(model, values.out, {}, { force: values.force, format, inputRange, size: int(values, 'size') });
  console.log(`wrote ${format} of ${source} (${model.countParams()} params) to ${values.out}: ${files.join(', ')}`);
}

export async function main(argv: string[]): Promise<number> {
  // Silences tfjs's "install tfjs-node" banner: the native backend cannot be installed offline.
  tf.env().set('PROD', true);
  try {
    const { values, positionals } = parse(argv);
    const command = positionals[0];
    if (values.help || !command) {
      console.log(USAGE);
      return values.help ? 0 : 1;
    }
    if (command === 'create') await create(values);
    else if (command === 'inspect') await inspect(positionals, values);
    else if (command === 'bench') await bench(positionals, values);
    else if (command === 'prune') await prune(positionals, values);
    else if (command === 'compress') await compress(values);
    else if (command === 'train') await train(values);
    else if (command === 'data') await (values.from ? dataFromPhotos(values) : makeData(values));
    else if (command === 'run') await runModel(modelArg(positionals), values);
    else if (command === 'convert') await convert(positionals, values);
    else if (command === 'backends') await backends(positionals[1], values);
    else throw new UsageError(`Unknown command '${command}'`);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`alap: ${err.message}`);
    if (e instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
    if (process.env.ALAP_DEBUG) console.error(err.stack);
    return 1;
  }
}
