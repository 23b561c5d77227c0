/**
 * What this project's replacements of tfjs 4.22 internals gain on wasm (src/core/backend: the Slice
 * kernel that reads its input in place, the batch-norm input gradient without a full-size tile),
 * against tfjs's own kernel and gradient, swapped in and out in one process and measured in
 * interleaved rounds (the median of 3): training throughput (Adam steps of batch --batch at --size
 * px, squared error to the base's output) and inference latency at --latency-size (batch 1, one
 * thread, output read back) for shipped models and a 10x-fewer-MACs student of face -> cartoon.
 *
 *   npx tsx bench/kernels-bench.ts [--batch 8] [--size 64] [--latency-size 256] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readModelDir } from '../src/cli/model-dir';
import { describeBackend, initBackend } from '../src/core/backend';
import { trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { DEFAULT_SPEC, runPipeline } from '../src/core/compress/pipeline';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { timedMeasurer } from '../src/core/measure/latency';
import { presetFor } from '../src/core/models/presets';
import { timedTrainingThroughput } from '../src/core/train/throughput';
import { log, median } from './common';

const { values } = parseArgs({ options: { batch: { type: 'string' }, size: { type: 'string' }, 'latency-size': { type: 'string' }, out: { type: 'string' } } });
const batch = Number(values.batch ?? 8);
const size = Number(values.size ?? 64);
const latencySize = Number(values['latency-size'] ?? 256);
const outDir = values.out ?? 'bench/results';

// tfjs's own, as registered when the wasm backend was imported above; then this project's.
const stock = { slice: tf.getKernel('Slice', 'wasm')!, batchNormGrad: tf.getGradient('FusedBatchNorm') };
tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });
const ours = { slice: tf.getKernel('Slice', 'wasm')!, batchNormGrad: tf.getGradient('FusedBatchNorm') };
if (ours.slice.kernelFunc === stock.slice.kernelFunc || ours.batchNormGrad === stock.batchNormGrad) throw new Error('the replacements are not registered');
function use(k: typeof stock): void {
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel(k.slice);
  tf.registerGradient(k.batchNormGrad);
}

const preset = presetFor('face-to-cartoon');
const base = await readModelDir('public/models/face-to-cartoon');
const data = generateTask(preset.task, 100, preset.size, 1);
const { train, test } = trainingSets(data.inputs, data.targets, { size: preset.size, range: '-1,1', heldOut: 16 });
const { student } = await runPipeline({ spec: { ...DEFAULT_SPEC, size: preset.size, budget: 'macs=0.1', steps: { train: 0, condense: 0, distill: 0 }, checkpointEvery: 1e9, sampleEvery: 0 }, model: base, train, test, store: new MemoryCheckpointStore(), backend: describeBackend(info), device: 'bench' });
const models: [string, tf.LayersModel][] = [
  ['face → cartoon base (batch norm)', base],
  ['its 10x-fewer-MACs student', student],
  ['face → cartoon real-time student', await readModelDir('public/models/face-to-cartoon-realtime')],
  ['mask → face base (instance norm)', await readModelDir('public/models/mask-to-face')],
];

const mse = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;
const latency = timedMeasurer({ runs: 20 });
const rows: string[] = [];
for (const [name, model] of models) {
  const throughput = timedTrainingThroughput(model, train, size, { steps: 6, warmup: 2, loss: mse, reference: (x) => base.predict(x) as tf.Tensor4D });
  const t = { stock: [] as number[], ours: [] as number[] };
  const ms = { stock: [] as number[], ours: [] as number[] };
  for (let round = 0; round < 3; round++) {
    for (const which of ['stock', 'ours'] as const) {
      use(which === 'stock' ? stock : ours);
      t[which].push(await throughput(batch));
      ms[which].push((await latency(model, [1, latencySize, latencySize, 3])).medianMs);
    }
  }
  use(ours);
  const [ts, to, ls, lo] = [median(t.stock), median(t.ours), median(ms.stock), median(ms.ours)];
  rows.push(`| ${name} | ${ts.toFixed(1)} | ${to.toFixed(1)} | **${(to / ts).toFixed(2)}x** | ${ls.toFixed(1)} | ${lo.toFixed(1)} | ${(ls / lo).toFixed(2)}x |`);
  log(rows.at(-1)!);
}
const command = `npx tsx bench/kernels-bench.ts ${process.argv.slice(2).join(' ')}`.trim();
const md = [
  `# tfjs-wasm kernels: tfjs 4.22's own against this project's replacements`,
  '',
  `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, node ${process.version}, ${describeBackend(info)}. Command: \`${command}\`. Training: Adam steps of batch ${batch} at ${size}x${size}; inference: batch 1 at ${latencySize}x${latencySize}, output read back; 3 interleaved rounds, median.`,
  '',
  `| model | training img/s, tfjs's kernels | training img/s, replaced | training speed-up | inference ms, tfjs's | inference ms, replaced | inference speed-up |`,
  '|---|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'kernels-bench.md'), md);
console.log(md);
