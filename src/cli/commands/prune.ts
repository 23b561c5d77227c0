/** `alap prune`: slices a model to a budget (magnitude selection) and measures it before and after. */
import { describeBackend } from '../../core/backend';
import { parseBudget } from '../../core/compress/budget';
import { pruneModel, selectGroups } from '../../core/compress/prune';
import { readChannelGraph } from '../../core/graph/channel-graph';
import { modelCost, formatCount, resolveSize } from '../../core/measure/cost';
import { measureLatency } from '../../core/measure/latency';
import { int, progressBar, UsageError, type Values, modelArg } from '../args';
import { nodeBackend, startBackend } from '../backend';
import { latencyLine } from './bench';
import { readModelDir, writeModelDir } from '../model-dir';

export async function prune(positionals: string[], values: Values) {
  if (!values.budget) throw new UsageError('prune needs --budget, e.g. macs=0.25');
  if (!values.out) throw new UsageError('prune needs --out <dir>');
  const budget = parseBudget(values.budget);
  const info = await startBackend(nodeBackend(values));
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
