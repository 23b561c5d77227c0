/** `alap bench`: a model's latency on this backend, optionally per layer. */
import { describeBackend } from '../../core/backend';
import { readChannelGraph } from '../../core/graph/channel-graph';
import { modelCost, formatCount, resolveSize } from '../../core/measure/cost';
import { layerLatencies, measureLatency, type Latency } from '../../core/measure/latency';
import { int, progressBar, type Values, modelArg } from '../args';
import { nodeBackend, startBackend } from '../backend';
import { readModelDir } from '../model-dir';

export function latencyLine(label: string, l: Latency) {
  return `${label}: median ${l.medianMs.toFixed(1)} ms, p95 ${l.p95Ms.toFixed(1)} ms, ${l.fps.toFixed(1)} FPS (${l.runs} runs)`;
}

export async function bench(positionals: string[], values: Values) {
  const info = await startBackend(nodeBackend(values));
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
