/**
 * alap's tfjs-wasm inference against onnxruntime-web (wasm) on the same networks and weights (the
 * model exported to ONNX by alap): each shipped base and its students at the given MACs budgets,
 * made by the default selection (importance per MAC) and refit, with each channel multiple (1: any
 * width; 8: widths in whole XNNPACK tiles). tfjs runs the inference copy Live runs (batch norms
 * folded); batch 1, output read back; interleaved rounds in one process. Also kernels per frame
 * (tfjs, from tf.profile) against ONNX nodes, and each student's speed-up against the MACs it cut.
 * In Node, tfjs-wasm runs one thread; onnxruntime-web runs 1 and --threads threads.
 *
 *   npx tsx bench/ort-bench.ts [--only face-to-cartoon,mask-to-face] [--budgets macs=0.1,macs=0.05]
 *     [--multiples 1,8] [--size 256] [--runs 20] [--rounds 3] [--threads 2] [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { readModelDir } from '../src/cli/model-dir';
import { describeBackend, initBackend } from '../src/core/backend';
import { DEFAULT_SPEC, runPipeline } from '../src/core/compress/pipeline';
import { trainingSets } from '../src/core/data/dataset';
import { generateTask } from '../src/core/data/tasks';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { MemoryCheckpointStore } from '../src/core/io/checkpoint';
import { toOnnx } from '../src/core/io/onnx-export';
import { onnx } from '../src/core/io/onnx-proto';
import { modelCost } from '../src/core/measure/cost';
import { kernelProfile } from '../src/core/measure/kernels';
import { measureFrames } from '../src/core/measure/latency';
import { foldBatchNorms } from '../src/core/models/fold';
import { presetFor } from '../src/core/models/presets';
import { log, sideBySide } from './common';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    budgets: { type: 'string' },
    multiples: { type: 'string' },
    size: { type: 'string' },
    runs: { type: 'string' },
    rounds: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
  },
});
const tasks = (values.only ?? 'face-to-cartoon,mask-to-face').split(',');
const budgets = (values.budgets ?? 'macs=0.1,macs=0.05').split(',');
const multiples = (values.multiples ?? '1,8').split(',').map(Number);
const size = Number(values.size ?? 256);
const runs = Number(values.runs ?? 20);
const rounds = Number(values.rounds ?? 3);
const threads = Number(values.threads ?? availableParallelism());
const outDir = values.out ?? 'bench/results';

tf.env().set('PROD', true);
const info = await initBackend({ prefer: 'wasm' });

interface Row {
  task: string;
  model: string;
  macs: number;
  macsRatio: number;
  /** Output channels of each convolution, in order. */
  widths: number[];
  /** PSNR against the base after slicing and refit (no training step), on the preset's held-out images. */
  refitPsnr: number | null;
  runtime: string;
  threads: number;
  medianMs: number;
  kernels: number;
}
const rows: Row[] = [];
const skipped: string[] = [];

for (const task of tasks) {
  const preset = presetFor(task);
  const base = await readModelDir(path.join('public', preset.modelDir));
  const data = generateTask(preset.task, preset.images, preset.size, 1);
  const { train, test } = trainingSets(data.inputs, data.kind === 'paired' ? data.targets : null, { size: preset.size, range: '-1,1', heldOut: 16 });
  const models: { name: string; model: tf.LayersModel; refitPsnr: number | null }[] = [{ name: 'base (shipped)', model: base, refitPsnr: null }];
  for (const budget of budgets) {
    for (const multiple of multiples) {
      const spec = { ...DEFAULT_SPEC, size: preset.size, budget, channelMultiple: multiple, steps: { train: 0, condense: 0, distill: 0 }, latencyRuns: 1, checkpointEvery: 1e9, sampleEvery: 0 };
      const name = `${budget}, channel multiple ${multiple}`;
      try {
        const { student, report } = await runPipeline({ spec, model: base, train, test, store: new MemoryCheckpointStore(), backend: describeBackend(info), device: 'bench' });
        models.push({ name, model: student, refitPsnr: report!.compensation?.refitted?.psnr ?? report!.studentVsOriginal!.psnr });
      } catch (e) {
        skipped.push(`${task}, ${name}: ${(e as Error).message}`);
        log(`${task}, ${name}: skipped (${(e as Error).message})`);
      }
    }
  }
  [train, test].forEach((d) => d.dispose());

  const baseMacs = modelCost(readChannelGraph(base), [size, size]).macs;
  const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1);
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  const input = new ort.Tensor('float32', (await nchw.data()) as Float32Array, [1, 3, size, size]);
  for (const { name, model, refitPsnr } of models) {
    const graph = readChannelGraph(model);
    const macs = modelCost(graph, [size, size]).macs;
    const widths = graph.layers.filter((l) => l.role === 'source').map((l) => l.channels.length);
    const folded = (await foldBatchNorms(model)) ?? model;
    const bytes = toOnnx(model);
    const nodes = onnx.ModelProto.decode(bytes).graph!.node!.filter((n) => n.opType !== 'Cast' && n.opType !== 'Identity').length;
    const kernels = (await kernelProfile(folded, x.shape)).kernels;
    const runners: { runtime: string; threads: number; kernels: number; frame: () => Promise<void> }[] = [
      {
        runtime: 'alap tfjs-wasm (batch norms folded)',
        threads: 1,
        kernels,
        frame: async () => {
          const y = folded.predict(x) as tf.Tensor;
          await y.data();
          y.dispose();
        },
      },
    ];
    const sessions: ort.InferenceSession[] = [];
    for (const n of [...new Set([1, threads])]) {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], intraOpNumThreads: n });
      sessions.push(session);
      runners.push({ runtime: 'onnxruntime-web wasm', threads: n, kernels: nodes, frame: async () => void (await session.run({ [session.inputNames[0]]: input })) });
    }
    const frames = { runs, warmup: 3 };
    const medians = await sideBySide(runners.map((r) => () => measureFrames(() => r.frame(), [1, size, size, 3], frames)), rounds);
    runners.forEach((r, i) => {
      const medianMs = medians[i];
      rows.push({ task, model: name, macs, macsRatio: baseMacs / macs, widths, refitPsnr, runtime: r.runtime, threads: r.threads, medianMs, kernels: r.kernels });
      log(`${task} ${name}: ${r.runtime} x${r.threads}: ${medianMs.toFixed(1)} ms, ${r.kernels} kernels`);
    });
    await Promise.all(sessions.map((s) => s.release()));
    if (folded !== model) folded.dispose();
    if (model !== base) model.dispose();
  }
  tf.dispose([x, nchw]);
  base.dispose();
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const peer = (r: Row, runtime: string) => rows.find((p) => p.task === r.task && p.model === r.model && p.runtime === runtime && p.threads === r.threads);
const baseOf = (r: Row) => rows.find((p) => p.task === r.task && p.model === 'base (shipped)' && p.runtime === r.runtime && p.threads === r.threads)!;
const lines = [
  '# alap tfjs-wasm vs onnxruntime-web on the same networks',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${availableParallelism()} cores, node ${process.version}, onnxruntime-web ${ort.env.versions.web ?? ''}. Command: \`npx tsx bench/ort-bench.ts ${process.argv.slice(2).join(' ')}\`. ${size}x${size}, batch 1, output read back; median of ${rounds} interleaved rounds of ${runs} frames. Students: the default selection and refit (no training step), quality against the base on the preset's 16 held-out images. Kernels: tfjs kernels per frame (tf.profile) / ONNX nodes (without Cast and Identity). Speed-up: the base's time over the student's on the same runtime and threads; per MAC: that over the MACs ratio.`,
  '',
  '| task | model | MACs (fewer) | conv widths | refit PSNR vs base | runtime | threads | median ms | tfjs / onnxruntime-web (same threads) | speed-up (per MAC) | kernels per frame |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const ort1 = peer(r, 'onnxruntime-web wasm');
    const speedup = baseOf(r).medianMs / r.medianMs;
    return `| ${r.task} | ${r.model} | ${(r.macs / 1e9).toFixed(2)} G (${r.macsRatio.toFixed(1)}x) | ${r.widths.join(',')} | ${r.refitPsnr === null ? '–' : `${r.refitPsnr.toFixed(2)} dB`} | ${r.runtime} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${ort1 && ort1 !== r ? `${(r.medianMs / ort1.medianMs).toFixed(2)}x` : '–'} | ${speedup.toFixed(2)}x (${(speedup / r.macsRatio).toFixed(2)}) | ${r.kernels} |`;
  }),
  '',
  ...(skipped.length ? ['Not made:', '', ...skipped.map((s) => `- ${s}`), ''] : []),
];
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'ort-bench.md'), lines.join('\n'));
writeFileSync(path.join(outDir, 'ort-bench.json'), JSON.stringify({ rows, skipped }, null, 2));
log(`wrote ${path.join(outDir, 'ort-bench.md')}`);
