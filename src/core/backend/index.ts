/**
 * Backend selection: WebGPU first, then WASM (SIMD, threads when cross-origin isolated), then the
 * plain CPU backend. The caller can force one. The result says what was chosen and why, so the UI
 * and reports can show it instead of guessing.
 */
import * as tf from '@tensorflow/tfjs';
import { registerGradientKernels } from './gradient-kernels';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface BackendOptions {
  /** Force this backend; fails with a clear error when it cannot start. */
  prefer?: BackendName;
  /** Where the tfjs wasm binaries are served (browser); Node finds them next to the package. */
  wasmPaths?: string | Record<string, string>;
}

export interface BackendInfo {
  name: BackendName;
  /** Why this backend: forced, first that worked, and why earlier ones were skipped. */
  reason: string;
  skipped: { name: BackendName; why: string }[];
  /** threadCount is what XNNPACK reports after start; requestedThreads what was asked for. */
  wasm?: { simd: boolean; threads: boolean; threadCount: number; requestedThreads: number | null };
  adapter?: { vendor: string; architecture: string; device: string; description: string };
  environment: 'browser' | 'worker' | 'node';
}

interface NavigatorLike {
  gpu?: { requestAdapter(): Promise<unknown> };
  hardwareConcurrency?: number;
}

function nav(): NavigatorLike | undefined {
  return (globalThis as { navigator?: NavigatorLike }).navigator;
}

function environment(): BackendInfo['environment'] {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.document !== 'undefined') return 'browser';
  if (typeof g.importScripts === 'function' || typeof g.WorkerGlobalScope !== 'undefined') return 'worker';
  return 'node';
}

async function webgpuUnavailableReason(): Promise<string | null> {
  const gpu = nav()?.gpu;
  if (!gpu) return 'navigator.gpu is missing (no WebGPU in this browser/context)';
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return 'navigator.gpu.requestAdapter() returned no adapter';
  return null;
}

let requestedThreads: number | null = null;

async function prepare(name: BackendName, opts: BackendOptions): Promise<string | null> {
  if (name === 'webgpu') {
    const why = await webgpuUnavailableReason();
    if (why) return why;
    // Registers the backend only when navigator.gpu exists at import time, hence the lazy import.
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths as never);
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const cores = nav()?.hardwareConcurrency;
    requestedThreads = isolated && cores ? cores : null;
    if (requestedThreads) wasm.setThreadsCount(requestedThreads);
    registerGradientKernels('wasm');
  } else if (name === 'webgl') {
    if (environment() === 'node') return 'webgl needs a browser';
  }
  return null;
}

async function adapterInfo(): Promise<BackendInfo['adapter']> {
  const adapter = (await nav()?.gpu?.requestAdapter()) as
    | { info?: Record<string, string>; requestAdapterInfo?: () => Promise<Record<string, string>> }
    | null
    | undefined;
  const info = adapter?.info ?? (await adapter?.requestAdapterInfo?.().catch(() => undefined));
  if (!info) return undefined;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
}

async function wasmFlags(): Promise<BackendInfo['wasm']> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const count = wasm.getThreadsCount();
  return { simd, threads, threadCount: count, requestedThreads };
}

async function tryStart(name: BackendName, opts: BackendOptions): Promise<string | null> {
  try {
    const why = await prepare(name, opts);
    if (why) return why;
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') failed to initialise`;
    await tf.ready();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Initialises tfjs on the best backend available (or the forced one) and describes it. */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  // The cpu backend is always present (and what tfjs falls back to): fix its kernels up front.
  registerGradientKernels('cpu');
  const order = opts.prefer ? [opts.prefer] : BACKEND_ORDER;
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const why = await tryStart(name, opts);
    if (why) {
      skipped.push({ name, why });
      continue;
    }
    const info: BackendInfo = {
      name,
      reason: opts.prefer ? `chosen explicitly` : skipped.length ? `first available` : `preferred backend`,
      skipped,
      environment: environment(),
    };
    if (name === 'wasm') info.wasm = await wasmFlags();
    if (name === 'webgpu') info.adapter = await adapterInfo();
    return info;
  }
  const detail = skipped.map((s) => `${s.name}: ${s.why}`).join('; ');
  throw new Error(`No TensorFlow.js backend could start (${detail})`);
}

/** One line for logs and reports, e.g. "wasm (SIMD, 1 thread) in node". */
export function describeBackend(info: BackendInfo): string {
  let s: string = info.name;
  if (info.wasm) {
    const t = info.wasm.threadCount;
    s += ` (${info.wasm.simd ? 'SIMD' : 'no SIMD'}, ${info.wasm.threads ? `${t} thread${t === 1 ? '' : 's'}` : 'single thread'})`;
  }
  if (info.adapter) s += ` on ${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' ')}`;
  return `${s} in ${info.environment}`;
}
