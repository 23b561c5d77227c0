/**
 * What folding batch norms into convolutions (src/core/models/fold.ts, the inference copy Live and
 * the Benchmark run) gains on tfjs-wasm, next to onnxruntime-web (which fuses them itself), for
 * each shipped model at 256x256: one thread, batch 1, output read back, 3 interleaved rounds of
 * 20 frames, the median of the rounds' medians.
 *
 *   npx tsx bench/fold-bench.ts [--size 256] [--out bench/results]
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readModelDir } from '../src/cli/model-dir';
import { initBackend } from '../src/core/backend';
import { onnxLatencyMeasurer } from '../src/core/io/onnx-run';
import { timedMeasurer, type LatencyMeasurer } from '../src/core/measure/latency';
import { foldBatchNorms } from '../src/core/models/fold';
import { log } from './common';

const { values } = parseArgs({ options: { size: { type: 'string' }, out: { type: 'string' } } });
const size = Number(values.size ?? 256);
const outDir = values.out ?? 'bench/results';
tf.env().set('PROD', true);
await initBackend({ prefer: 'wasm' });

const shape = [1, size, size, 3];
const onTfjs = timedMeasurer({ runs: 20 });
const onOrt = onnxLatencyMeasurer(1, 20);
const rows: string[] = [];
for (const dir of readdirSync('public/models').sort()) {
  const model = await readModelDir(path.join('public/models', dir));
  const folded = await foldBatchNorms(model);
  const runs: [string, LatencyMeasurer, tf.LayersModel][] = [['tfjs-wasm', onTfjs, model], ['tfjs-wasm, folded', onTfjs, folded ?? model], ['onnxruntime-web', onOrt, model]];
  const times = runs.map(() => [] as number[]);
  for (let round = 0; round < 3; round++) for (const [i, [, measure, m]] of runs.entries()) times[i].push((await measure(m, shape)).medianMs);
  const [plain, fold, ort] = times.map((t) => t.sort((a, b) => a - b)[1]);
  const norms = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length;
  rows.push(`| ${dir} | ${norms} | ${plain.toFixed(1)} | ${folded ? `${fold.toFixed(1)} (${(plain / fold).toFixed(2)}x)` : '– (nothing folds)'} | ${ort.toFixed(1)} |`);
  log(rows.at(-1)!);
  [model, folded].forEach((m) => m?.dispose());
}
const md = [
  '# Batch norms folded into convolutions: tfjs-wasm before and after, and onnxruntime-web',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}. Command: \`${['npx tsx bench/fold-bench.ts', ...process.argv.slice(2)].join(' ')}\`. ${size}x${size}, batch 1, one thread, output read back; median of 3 interleaved rounds of 20 frames.`,
  '',
  '| model | batch norms | tfjs-wasm ms | tfjs-wasm folded ms | onnxruntime-web ms |',
  '|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'fold-bench.md'), md);
log(`wrote ${path.join(outDir, 'fold-bench.md')}`);
