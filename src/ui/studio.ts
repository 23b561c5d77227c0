/**
 * The page's side of the studio: one pipeline worker, the IndexedDB records the pages list (read
 * here; written by the app layer, src/app: in the worker, or for storage and benchmarks here), and
 * downloads.
 * Nothing here trains or decodes: that is the worker's job.
 */
import * as Comlink from 'comlink';
import type { PipelineApi } from '../workers/pipeline.worker';
import type { InferenceApi, ModelSource } from '../workers/inference.worker';
import { PRESETS, type Preset } from '../core/models/presets';
import { TASK_SHORT_NAMES, type TaskName } from '../core/data/tasks';
import type { BackendInfo, BackendName } from '../core/backend/describe';
import { browserProbeKey, type ProbeResult } from '../core/backend/choice';
import { openStudioDB, type BenchmarkRecord, type DatasetRecord, type ModelRecord, type StudioDB, type StudioReader } from '../store/db';
import { deleteStored, saveBenchmark, storedItems, type StoredItem } from '../app/storage';

export function startPipelineWorker(): { api: Comlink.Remote<PipelineApi>; worker: Worker } {
  const worker = new Worker(new URL('../workers/pipeline.worker.ts', import.meta.url), { type: 'module' });
  return { api: Comlink.wrap<PipelineApi>(worker), worker };
}

let dbPromise: Promise<StudioDB> | null = null;
function connection(): Promise<StudioDB> {
  dbPromise ??= openStudioDB();
  return dbPromise;
}

/** The records, read-only: writes go through the app layer (the workers, or `storage` below). */
export function db(): Promise<StudioReader> {
  return connection();
}

/** The app layer's writes that need no worker (src/app/storage.ts) on the page's connection. */
export const storage = {
  items: async (): Promise<StoredItem[]> => storedItems(await connection()),
  delete: async (item: StoredItem): Promise<void> => deleteStored(await connection(), item),
  saveBenchmark: async (session: Omit<BenchmarkRecord, 'id' | 'createdAt'>): Promise<BenchmarkRecord> => saveBenchmark(await connection(), session),
};

/**
 * A run named from what it is, e.g. "cartoon · macs 0.25 · 07:43": the preset task of the model or
 * the data (else the model's name), the job, the local time. Its model takes the same name.
 */
export function runName(model: ModelRecord, data: DatasetRecord, job: string, at = new Date()): string {
  const task = model.preset?.task ?? data.task;
  const subject = task ? TASK_SHORT_NAMES[task] : model.name.length > 32 ? `${model.name.slice(0, 31)}…` : model.name;
  return `${subject} · ${job.replace('=', ' ')} · ${at.toTimeString().slice(0, 5)}`;
}

/** A callback the worker can call back across the message channel. */
export function proxyProgress<F extends (...args: never[]) => void>(f: F) {
  return Comlink.proxy(f);
}

/** Saves bytes as a file through a temporary link (needs a document, hence the page). */
export function download(name: string, data: BlobPart, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A model the benchmark and live pages can load: one in storage, or a shipped preset. */
export interface ModelChoice {
  key: string;
  label: string;
  source: ModelSource;
  /** Compressed (a run's student) rather than an original. */
  compressed: boolean;
  /** The preset task of a shipped model or of its stored copy. */
  task?: TaskName;
}

/** Models in storage (newest first), then the shipped preset models not yet stored. */
export async function modelChoices(): Promise<ModelChoice[]> {
  const stored = (await (await db()).getAll('models')).sort((a, b) => b.createdAt - a.createdAt);
  const choices: ModelChoice[] = stored.map((m) => ({ key: m.id, label: `${m.name} (${m.source})`, source: { kind: 'stored', id: m.id }, compressed: m.source === 'student', task: m.preset?.task }));
  for (const p of Object.values(PRESETS)) {
    if (!stored.some((m) => m.preset?.task === p.task)) {
      choices.push({ key: `shipped-${p.task}`, label: `${p.label} base (shipped)`, source: { kind: 'url', url: shippedModelUrl(p), name: p.label }, compressed: false, task: p.task });
    }
    if (p.realtimeDir) {
      const url = new URL(`${p.realtimeDir}/`, document.baseURI).href;
      choices.push({ key: `shipped-realtime-${p.task}`, label: `${p.label} real-time student (shipped)`, source: { kind: 'url', url, name: `${p.label} real-time` }, compressed: true, task: p.task });
    }
  }
  return choices;
}

/** The app's own copy of a preset's shipped model folder (public/models/<task>/). */
export function shippedModelUrl(preset: Preset): string {
  return new URL(`${preset.modelDir}/`, document.baseURI).href;
}

export type InferenceWorker = { api: Comlink.Remote<InferenceApi>; worker: Worker };

function inferenceWorker(): InferenceWorker {
  const worker = new Worker(new URL('../workers/inference.worker.ts', import.meta.url), { type: 'module' });
  return { api: Comlink.wrap<InferenceApi>(worker), worker };
}

export type StoredProbe = ProbeResult & { stored: boolean; storeError?: string };

/** This device and browser's stored probe figures, or null (read here: no worker needed). */
export async function storedProbe(): Promise<StoredProbe | null> {
  const probe = await (await db()).get('probes', await browserProbeKey());
  return probe ? { ...probe, stored: true } : null;
}

/** Measures this device's backends in a worker of its own (see InferenceApi.measureBackends), which stores them. */
export async function measureBackends(): Promise<StoredProbe> {
  const { api, worker } = inferenceWorker();
  try {
    return { ...(await api.measureBackends()), stored: false };
  } finally {
    worker.terminate();
  }
}

/** An inference worker on `backend` with `models` loaded under their keys; terminated if that fails. */
export async function openInferenceWorker(backend: BackendName, models: { key: string; source: ModelSource; asStored?: boolean }[], wasmThreads?: number, why?: string): Promise<InferenceWorker & { info: BackendInfo }> {
  const { api, worker } = inferenceWorker();
  try {
    const info = await api.init(backend, wasmThreads, why);
    for (const m of models) await api.loadModel(m.key, m.source, m.asStored);
    return { api, worker, info };
  } catch (e) {
    worker.terminate();
    throw e;
  }
}

/**
 * The key that still names the chosen model after the list changed: the same key, or where a
 * shipped preset was stored meanwhile (its key changes), the stored copy; '' when it is gone.
 */
export function keptChoice(before: ModelChoice[], after: ModelChoice[], key: string): string {
  if (!key || after.some((c) => c.key === key)) return key;
  const old = before.find((c) => c.key === key);
  return (old?.task && after.find((c) => c.task === old.task && c.compressed === old.compressed)?.key) || '';
}

/** A student stored since the list was last read (the result a user wants to try next), if any. */
export function newStudent(before: ModelChoice[], after: ModelChoice[]): string | undefined {
  if (!before.length) return undefined;
  return after.find((c) => c.compressed && c.source.kind === 'stored' && !before.some((b) => b.key === c.key))?.key;
}

/**
 * The compressed model shown next to `original`: the newest one compressed here, else the shipped
 * real-time student of the original's task, else any.
 */
export function defaultCompressed(choices: ModelChoice[], original: string): string {
  const compressed = choices.filter((c) => c.compressed);
  const task = choices.find((c) => c.key === original)?.task;
  return (compressed.find((c) => c.source.kind === 'stored') ?? compressed.find((c) => task && c.task === task) ?? compressed[0])?.key ?? '';
}

/** The model a first visit shows: the face -> cartoon preset if there, else the newest original. */
export function defaultOriginal(choices: ModelChoice[]): string {
  return (choices.find((c) => /cartoon/i.test(c.label) && !c.compressed) ?? choices.find((c) => !c.compressed))?.key ?? '';
}
