/** What a backend choice reports, without importing tfjs (the page shows it). */

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** Why this backend: forced, first that worked, and why earlier ones were skipped. */
  reason: string;
  skipped: { name: BackendName; why: string }[];
  /** threadCount is what XNNPACK reports after start; requestedThreads what was asked for. */
  wasm?: { simd: boolean; threads: boolean; threadCount: number; requestedThreads: number | null };
  /** fallback: WebGPU's isFallbackAdapter (a software implementation). */
  adapter?: { vendor: string; architecture: string; device: string; description: string; fallback?: boolean };
  environment: 'browser' | 'worker' | 'node';
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
