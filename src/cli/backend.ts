/**
 * The backend a command runs on, and `alap backends`: the browser's probe, run in Node.
 * Node has wasm and tfjs's plain-JavaScript cpu backend (no WebGPU), so auto is wasm unless it
 * cannot start; `alap backends` measures both and prints the choice the studio would make.
 */
import { describeBackend, initBackend, type BackendInfo } from '../core/backend';
import { chooseBackend, formatMs as ms, probeKey } from '../core/backend/choice';
import { probeBackends, PROBE_SIDES } from '../core/backend/probe';
import { readChannelGraph } from '../core/graph/channel-graph';
import { fixedInputSize, modelCost, resolveSize } from '../core/measure/cost';
import { int, UsageError, type Values } from './args';
import { readModelDir } from './model-dir';
import { cpus } from 'node:os';

export type NodeBackendChoice = 'auto' | 'wasm' | 'cpu';

/** --backend: auto (default), wasm or cpu. */
export function nodeBackend(values: Values): NodeBackendChoice {
  const name = values.backend ?? 'auto';
  if (name !== 'auto' && name !== 'wasm' && name !== 'cpu') throw new UsageError(`--backend must be auto, wasm or cpu in Node, got '${name}'`);
  return name;
}

/** Starts the backend asked for (auto: wasm, or cpu where wasm cannot start) and says which and why on stderr. */
export async function startBackend(choice: NodeBackendChoice): Promise<BackendInfo> {
  const start = async () => {
    if (choice !== 'auto') return initBackend({ prefer: choice, why: `--backend ${choice}` });
    try {
      return await initBackend({ prefer: 'wasm', why: 'auto: in Node only wasm and the plain-JavaScript cpu fallback run (no WebGPU); `alap backends` measures both' });
    } catch (e) {
      return initBackend({ prefer: 'cpu', why: `auto: wasm could not start (${(e as Error).message}), so cpu, the plain-JavaScript fallback` });
    }
  };
  const info = await start();
  process.stderr.write(`backend: ${describeBackend(info)} (${info.reason})\n`);
  return info;
}

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
