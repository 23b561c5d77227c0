/** `alap backends`: which backends start here, and how fast a model runs on each. */
import { cpus } from 'node:os';
import { chooseBackend, formatMs as ms, probeKey } from '../../core/backend/choice';
import { probeBackends, PROBE_SIDES } from '../../core/backend/probe';
import { readChannelGraph } from '../../core/graph/channel-graph';
import { modelCost, resolveSize, fixedInputSize } from '../../core/measure/cost';
import { int, type Values } from '../args';
import { readModelDir } from '../model-dir';

/** `alap backends [model] [--size N]`: the probe's figures and what auto chooses for training and for the model. */
export async function backends(modelPath: string | undefined, values: Values) {
  const probe = await probeBackends({ candidates: ['wasm', 'cpu', 'webgpu'], key: probeKey({ userAgent: `node ${process.version}`, cores: cpus().length, isolated: false }) });
  const sides = PROBE_SIDES.map((s) => `${(probe.macs[s] / 1e6).toFixed(0)} MMACs at ${s} px`).join(', ');
  console.log(`backend probe (a ResNet generator, ${sides}) in ${Math.round(probe.costMs)} ms:`);
  for (const f of probe.backends) {
    const figures = f.failed ? `did not start: ${f.failed}` : [...PROBE_SIDES.map((s) => `forward ${s} px ${ms(f.forwardMs[s])}`), `training step ${ms(f.trainStepMs)}`, f.stopped ?? f.described].join(' · ');
    console.log(`  ${f.name.padEnd(6)} ${figures}`);
  }
  const training = chooseBackend(probe, { kind: 'training' });
  console.log(`training: ${training.name} — ${training.reason}`);
  if (!modelPath) return;
  const model = await readModelDir(modelPath);
  const graph = readChannelGraph(model);
  const size = resolveSize(graph, int(values, 'size') ?? (fixedInputSize(graph) ? undefined : 256));
  const macs = modelCost(graph, size).macs;
  const c = chooseBackend(probe, { kind: 'inference', macs });
  console.log(`inference of ${modelPath} at ${size.join('x')}: ${c.name} — ${c.reason}`);
  model.dispose();
}
