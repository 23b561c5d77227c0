/**
 * alap's tfjs-wasm inference against onnxruntime-web (wasm) on the same network and weights (the
 * model exported to ONNX by alap): the shipped face -> cartoon base and its students pruned to 10%
 * and 5% of the MACs (`alap prune`'s selection), batch 1, output read back, measured side by side
 * in interleaved rounds in one process. Also kernels per frame (tfjs, from tf.profile) against
 * ONNX nodes. In Node, tfjs-wasm runs one thread; onnxruntime-web runs 1 and --threads threads.
 *
 *   npx tsx bench/ort-bench.ts [--size 256] [--runs 20] [--rounds 3] [--threads 2] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { readModelDir } from '../src/cli/model-dir';
import { initBackend } from '../src/core/backend';
import { parseBudget } from '../src/core/compress/budget';
import { pruneModel, selectGroups } from '../src/core/compress/prune';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { modelCost } from '../src/core/measure/cost';
import { toOnnx } from '../src/core/io/onnx-export';
import { onnx } from '../src/core/io/onnx-proto';
import { log } from './common';

const { values } = parseArgs({ options: { size: { type: 'string' }, runs: { type: 'string' }, rounds: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' } } });
const size = Number(values.size ?? 256);
const runs = Number(values.runs ?? 20);
const rounds = Number(values.rounds ?? 3);
const threads = Number(values.threads ?? availableParallelism());
const outDir = values.out ?? 'bench/results';

tf.env().set('PROD', true);
await initBackend({ prefer: 'wasm' });
ort.env.wasm.numThreads = threads;

interface Runner {
  label: string;
  frame: () => Promise<void>;
}

const base = await readModelDir('public/models/face-to-cartoon');
const graph = readChannelGraph(base);
const models: [string, tf.LayersModel][] = [['face → cartoon base', base]];
for (const keep of [0.1, 0.05]) {
  const { removed } = await selectGroups(graph, parseBudget(`macs=${keep}`), [size, size]);
  models.push([`its ${keep * 100}%-MACs student`, await pruneModel(graph, removed)]);
}

const rows: { model: string; macs: number; runtime: string; threads: number; medianMs: number; kernels: number }[] = [];
for (const [name, model] of models) {
  const bytes = toOnnx(model);
  const nodes = onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.opType !== 'Cast' && n.opType !== 'Identity').length;
  const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1);
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  const input = new ort.Tensor('float32', (await nchw.data()) as Float32Array, [1, 3, size, size]);
  const profile = await tf.profile(() => model.predict(x) as tf.Tensor);
  const runners: (Runner & { threads: number; kernels: number })[] = [
    {
      label: 'alap tfjs-wasm',
      threads: 1,
      kernels: profile.kernels.length,
      frame: async () => {
        const y = model.predict(x) as tf.Tensor;
        await y.data();
        y.dispose();
      },
    },
  ];
  for (const n of [...new Set([1, threads])]) {
    // One session per thread count: onnxruntime-web fixes its thread pool when it first initialises,
    // so the thread count is set through the session's options.
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], intraOpNumThreads: n });
    runners.push({
      label: 'onnxruntime-web wasm',
      threads: n,
      kernels: nodes,
      frame: async () => {
        await session.run({ input });
      },
    });
  }
  const times = runners.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, r] of runners.entries()) {
      for (let w = 0; w < 3; w++) await r.frame();
      const t: number[] = [];
      for (let k = 0; k < runs; k++) {
        const start = performance.now();
        await r.frame();
        t.push(performance.now() - start);
      }
      times[i].push(t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
    }
  }
  const macs = modelCost(readChannelGraph(model), [size, size]).macs;
  runners.forEach((r, i) => {
    const medianMs = times[i].sort((a, b) => a - b)[Math.floor(times[i].length / 2)];
    rows.push({ model: name, macs, runtime: r.label, threads: r.threads, medianMs, kernels: r.kernels });
    log(`${name}: ${r.label} x${r.threads}: ${medianMs.toFixed(1)} ms, ${r.kernels} kernels`);
  });
  tf.dispose([x, nchw]);
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const lines = [
  '# alap tfjs-wasm vs onnxruntime-web on the same network',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${availableParallelism()} cores, node ${process.version}, onnxruntime-web ${ort.env.versions.web ?? ''}. Command: \`npx tsx bench/ort-bench.ts ${process.argv.slice(2).join(' ')}\`. ${size}x${size}, batch 1, output read back; median of ${rounds} interleaved rounds of ${runs} frames. Kernels: tfjs kernels per frame (tf.profile) / ONNX nodes (without Cast and Identity).`,
  '',
  '| model | MACs | runtime | threads | median ms | ratio to onnxruntime-web (same threads) | kernels per frame |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const peer = rows.find((p) => p.model === r.model && p.runtime === 'onnxruntime-web wasm' && p.threads === r.threads);
    return `| ${r.model} | ${(r.macs / 1e9).toFixed(2)} G | ${r.runtime} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${peer ? `${(r.medianMs / peer.medianMs).toFixed(2)}x` : '–'} | ${r.kernels} |`;
  }),
  '',
];
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'ort-bench.md'), lines.join('\n'));
writeFileSync(path.join(outDir, 'ort-bench.json'), JSON.stringify(rows, null, 2));
log(`wrote ${path.join(outDir, 'ort-bench.md')}`);
