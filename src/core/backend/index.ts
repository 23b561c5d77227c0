/**
 * Backend selection: WebGPU first, then WASM (SIMD, threads when cross-origin isolated), then the
 * plain CPU backend. The caller can force one. The result says what was chosen and why, so the UI
 * and reports can show it instead of guessing.
 */
import * as tf from '@tensorflow/tfjs';
import { registerGradientKernels } from './gradient-kernels';
import { registerWasmSlice } from './wasm-slice';
import type { BackendInfo, BackendName } from './describe';

export { describeBackend, type BackendInfo, type BackendName } from './describe';

export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface BackendOptions {
  /** Force this backend; fails with a clear error when it cannot start. */
  prefer?: BackendName;
  /** Where the tfjs wasm binaries are served (browser); Node finds them next to the package. */
  wasmPaths?: string | Record<string, string>;
  /** wasm: threads to ask for (default: one per core when cross-origin isolated). */
  wasmThreads?: number;
  /** Why the caller chose `prefer` (reported instead of "chosen explicitly"). */
  why?: string;
}

interface NavigatorLike {
  gpu?: unknown;
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


let requestedThreads: number | null = null;

type GPUAdapterLike = {
  features: Set<string>;
  limits: Record<string, number>;
  info?: Record<string, string>;
  requestDevice(descriptor: object): Promise<unknown>;
};
/**
 * The adapter behind the webgpu backend, held for the page's lifetime. tfjs's own factory drops
 * it after creating the device; in Chromium's workers a long run then failed with "mapAsync ...
 * A valid external Instance reference no longer exists" once the adapter was collected.
 */
let heldAdapter: GPUAdapterLike | null = null;

async function createWebGPUBackend(Backend: new (device: never, info?: never) => tf.KernelBackend): Promise<tf.KernelBackend> {
  const gpu = nav()!.gpu as { requestAdapter(o: object): Promise<GPUAdapterLike | null> };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  heldAdapter = adapter;
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: Object.fromEntries(
      ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'].map(
        (k) => [k, limits[k]],
      ),
    ),
  });
  return new Backend(device as never, adapter.info as never);
}

async function prepare(name: BackendName, opts: BackendOptions): Promise<string | null> {
  if (name === 'webgpu') {
    if (!nav()?.gpu) return 'navigator.gpu is missing (no WebGPU in this browser/context)';
    // Imported lazily: it registers its kernels (and a backend) only when navigator.gpu exists.
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => createWebGPUBackend(WebGPUBackend), 3);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths as never);
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const cores = nav()?.hardwareConcurrency;
    requestedThreads = isolated ? (opts.wasmThreads ?? cores ?? null) : null;
    if (requestedThreads) wasm.setThreadsCount(requestedThreads);
    registerGradientKernels('wasm');
    registerWasmSlice();
  } else if (name === 'webgl') {
    if (environment() === 'node') return 'webgl needs a browser';
  }
  return null;
}

function adapterInfo(): BackendInfo['adapter'] {
  const info = heldAdapter?.info;
  if (!info) return undefined;
  const fallback = Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (heldAdapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '', fallback };
}

async function wasmFlags(): Promise<BackendInfo['wasm']> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const count = wasm.getThreadsCount();
  return { simd, threads, threadCount: count, requestedThreads };
}

/**
 * tfjs-backend-wasm 4.22 starts min(requested, 8, navigator.hardwareConcurrency / 2) threads: its
 * backend.cc assumes two hyper-threads per core, so a machine without them gets half its cores (one
 * on a 2-core machine). While the backend starts, the core count it reads is raised to twice the
 * request, so it runs the threads asked for (still at most 8); the real value is restored after.
 */
async function withThreadsGranted<T>(threads: number | null, start: () => Promise<T>): Promise<T> {
  const navigator = nav();
  if (!threads || !navigator || environment() === 'node') return start();
  Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  try {
    return await start();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

async function tryStart(name: BackendName, opts: BackendOptions): Promise<string | null> {
  try {
    const why = await prepare(name, opts);
    if (why) return why;
    const ok = await withThreadsGranted(name === 'wasm' ? requestedThreads : null, () => tf.setBackend(name));
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
      reason: opts.prefer ? (opts.why ?? `chosen explicitly`) : skipped.length ? `first available` : `preferred backend`,
      skipped,
      environment: environment(),
    };
    if (name === 'wasm') info.wasm = await wasmFlags();
    if (name === 'webgpu') info.adapter = adapterInfo();
    return info;
  }
  const detail = skipped.map((s) => `${s.name}: ${s.why}`).join('; ');
  throw new Error(`No TensorFlow.js backend could start (${detail})`);
}

