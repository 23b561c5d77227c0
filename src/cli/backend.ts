/**
 * The backend a command runs on, and `alap backends`: the browser's probe, run in Node.
 * Node has wasm and tfjs's plain-JavaScript cpu backend (no WebGPU), so auto is wasm unless it
 * cannot start; `alap backends` measures both and prints the choice the studio would make.
 */
import { describeBackend, initBackend, type BackendInfo } from '../core/backend';
import { UsageError, type Values } from './args';

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
