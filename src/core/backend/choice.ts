/**
 * "auto" as a measurement, not an order: a short probe times each backend that starts on this
 * device (the same small generator forward at two sizes, and one training step), and each job
 * takes the backend the figures say is fastest for it. A GPU adapter is never chosen on the strength
 * of being a GPU: a software adapter (SwiftShader, llvmpipe, WARP) or a weak integrated GPU is
 * chosen only where its own figures beat the CPU paths. Pure logic without tfjs: the page uses it.
 */
import type { BackendName } from './describe';

/** What one backend measured in the probe. */
export interface BackendFigures {
  name: BackendName;
  /** Why it could not start (then nothing was measured). */
  failed?: string;
  /** As started, e.g. "wasm (SIMD, 2 threads) in worker". */
  described?: string;
  /** A software or fallback GPU adapter. */
  software?: boolean;
  /** Median ms of one probe-generator forward with the output read back, keyed by image side in px. */
  forwardMs: Record<number, number>;
  /** Median ms of one training step (batch 1) at the smaller side. */
  trainStepMs?: number;
  /** Why it was not measured (further): then it is not chosen for any job. */
  stopped?: string;
}

export interface ProbeResult {
  /** Device and browser the figures belong to (see probeKey). */
  key: string;
  measuredAt: number;
  /** Wall time of the whole probe, ms. */
  costMs: number;
  /** MACs of one probe-generator forward, keyed by image side in px. */
  macs: Record<number, number>;
  backends: BackendFigures[];
}

export type BackendJob = { kind: 'training' } | { kind: 'inference'; macs: number };

export interface BackendChoice {
  name: BackendName;
  /** One sentence with the figures it was chosen by. */
  reason: string;
  /** Predicted or measured ms per frame (inference) or per step (training) of each candidate. */
  estimates: { name: BackendName; ms: number }[];
}

/** A GPU adapter that is software, by the flag WebGPU gives or by a known software renderer's name. */
export function isSoftwareAdapter(adapter: { vendor?: string; architecture?: string; device?: string; description?: string; fallback?: boolean }): boolean {
  if (adapter.fallback) return true;
  const text = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].join(' ');
  return /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i.test(text);
}

/** The device + browser a probe belongs to: a new browser version or another GPU measures again. */
export function probeKey(d: { userAgent: string; cores: number; isolated: boolean; adapter?: string }): string {
  return [d.userAgent, `${d.cores} cores`, d.isolated ? 'isolated' : 'not isolated', d.adapter ?? 'no GPU adapter'].join(' | ');
}

type AdapterInfo = { vendor?: string; architecture?: string; device?: string; description?: string };

/** This browser's probe key (page or worker: the same answer), asking WebGPU for its adapter's name without starting a backend. */
export async function browserProbeKey(): Promise<string> {
  const gpu = (navigator as { gpu?: { requestAdapter(o: object): Promise<{ info?: AdapterInfo } | null> } }).gpu;
  const info = (await gpu?.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null))?.info;
  const adapter = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter' : undefined;
  return probeKey({ userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, isolated: crossOriginIsolated, adapter });
}

/** Threads a wasm runtime can use in this page or worker: every core when cross-origin isolated, else one. */
export function availableThreads(): number {
  return crossOriginIsolated ? navigator.hardwareConcurrency : 1;
}

/** A probe figure for people: "9.1 ms", "4,512 ms"; "—" where it was not measured. */
export const formatMs = (t: number | undefined) => (t == null ? '—' : t >= 100 ? `${Math.round(t).toLocaleString('en')} ms` : `${t.toFixed(1)} ms`);
const ms = formatMs;

/**
 * Per-frame time at `macs` from the two probe sizes: a fixed cost per frame (kernel dispatch) plus a
 * cost per MAC, each at least zero. With one size measured, time is taken as proportional to MACs.
 */
export function predictFrameMs(figures: BackendFigures, macsBySide: Record<number, number>, macs: number): number | null {
  const points = Object.entries(figures.forwardMs)
    .map(([side, t]) => ({ m: macsBySide[Number(side)], t }))
    .filter((p) => p.m > 0 && Number.isFinite(p.t))
    .sort((a, b) => a.m - b.m);
  if (!points.length) return null;
  if (points.length === 1) return (points[0].t * macs) / points[0].m;
  const [lo, hi] = [points[0], points[points.length - 1]];
  const perMac = Math.max(0, (hi.t - lo.t) / (hi.m - lo.m));
  const fixed = Math.max(0, lo.t - perMac * lo.m);
  return fixed + perMac * macs;
}

function note(f: BackendFigures): string {
  if (f.failed) return `${f.name} did not start`;
  if (f.stopped) return `${f.name} ${f.stopped}`;
  return '';
}

/** The backend for `job` from the probe's figures, with the reason in words. */
export function chooseBackend(probe: ProbeResult, job: BackendJob): BackendChoice {
  const estimates: BackendChoice['estimates'] = [];
  for (const f of probe.backends) {
    if (f.failed || f.stopped) continue;
    const t = job.kind === 'training' ? f.trainStepMs : predictFrameMs(f, probe.macs, job.macs);
    if (t != null && Number.isFinite(t)) estimates.push({ name: f.name, ms: t });
  }
  estimates.sort((a, b) => a.ms - b.ms);
  if (!estimates.length) return { name: 'wasm', reason: 'no backend has probe figures here: wasm, the CPU path that needs no GPU', estimates };
  const best = estimates[0];
  const unit = job.kind === 'training' ? 'per training step' : `per frame at ${(job.macs / 1e9).toFixed(2)} GMACs`;
  const software = (name: BackendName) => probe.backends.find((f) => f.name === name)?.software;
  const others = [...estimates.slice(1).map((e) => `${e.name} ${ms(e.ms)}${software(e.name) ? ' (software adapter)' : ''}`), ...probe.backends.map(note).filter(Boolean)];
  const what = job.kind === 'training' ? 'measured' : 'predicted from the probe';
  const bestSoftware = software(best.name) ? ' — a software adapter, chosen only because it measured faster' : '';
  return {
    name: best.name,
    reason: `fastest ${what} here: ${best.name} ${ms(best.ms)} ${unit}${bestSoftware}${others.length ? ` (${others.join('; ')})` : ''}`,
    estimates,
  };
}
