/**
 * The studio's IndexedDB: datasets (encoded image blobs, not float tensors), models (the standard
 * tfjs files), runs (spec, status, report) and checkpoints. Browser side only.
 *
 * Versioned: `upgrade` walks from the stored version to DB_VERSION one step at a time, so a user
 * with an older database keeps their data.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RunReport, RunSpec } from '../core/compress/pipeline';
import type { TaskName } from '../core/data/tasks';
import type { ProbeResult } from '../core/backend/choice';
import type { QualityPair } from '../core/measure/quality';

export const DB_NAME = 'alap-studio';
export const DB_VERSION = 3;

export interface DatasetRecord {
  id: string;
  name: string;
  /** paired: inputs with targets; unpaired: inputs only. */
  kind: 'paired' | 'unpaired';
  count: number;
  createdAt: number;
  /** Total bytes of the stored blobs. */
  bytes: number;
  /** The last `heldOut` images are for evaluation only (absent in older records: defaultHeldOut). */
  heldOut?: number;
  /** Built-in task it was generated from, and at what size. */
  task?: TaskName;
  size?: number;
  /** False while a generation is still writing chunks (or was cut off: the images so far are kept). */
  complete?: boolean;
}

export interface ImageRecord {
  datasetId: string;
  index: number;
  name: string;
  input: Blob;
  target: Blob | null;
}

export interface ModelRecord {
  id: string;
  name: string;
  /** preset: a shipped base model; trained: a base model trained in the studio. */
  source: 'zoo' | 'import' | 'preset' | 'trained' | 'student';
  /** Preset task and the shipped model's info.json (training command, held-out quality). */
  preset?: { task: TaskName; info: Record<string, unknown> };
  createdAt: number;
  modelJson: string;
  /** Weight shards concatenated in manifest order (what tf.io.fromMemory takes). */
  weights: ArrayBuffer;
  inputRange: '-1,1' | '0,1' | '0,255';
  bytes: number;
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'failed' | 'cancelled' | 'done';

export interface RunRecord {
  id: string;
  name: string;
  spec: RunSpec;
  datasetId: string;
  modelId: string;
  status: RunStatus;
  createdAt: number;
  updatedAt: number;
  stage?: string;
  step?: number;
  error?: string;
  report?: RunReport;
  /** Held-out quality of a base-training run (task 'train'). */
  trained?: QualityPair;
  studentModelId?: string;
  /** Held-out inputs, targets and model outputs as PNG blobs, for the results page. */
  samples?: { columns: string[]; rows: { name: string; cells: Blob[] }[] };
}

export interface CheckpointRecord {
  runId: string;
  state: Record<string, unknown>;
  files: string[];
  savedAt: number;
}

export interface CheckpointFileRecord {
  runId: string;
  name: string;
  data: Uint8Array;
}

/** One benchmark session: every backend x model measured, with the device it ran on. */
export interface BenchmarkRecord {
  id: string;
  createdAt: number;
  size: number;
  runs: number;
  device: { userAgent: string; hardwareConcurrency: number };
  rows: BenchmarkRow[];
}

export interface BenchmarkRow {
  /** Backend as started, e.g. "wasm (SIMD, 2 threads) in worker". */
  backend: string;
  model: string;
  medianMs: number;
  p95Ms: number;
  fps: number;
  macs: number;
  gflops: number;
  /** Each timed frame in order (records from before it was kept lack it). */
  timesMs?: number[];
}

export interface StudioSchema extends DBSchema {
  /** The backend probe's figures, one record per device and browser (ProbeResult.key). */
  probes: { key: string; value: ProbeResult };
  datasets: { key: string; value: DatasetRecord };
  images: { key: [string, number]; value: ImageRecord; indexes: { byDataset: string } };
  models: { key: string; value: ModelRecord };
  runs: { key: string; value: RunRecord };
  checkpoints: { key: string; value: CheckpointRecord };
  checkpointFiles: { key: [string, string]; value: CheckpointFileRecord; indexes: { byRun: string } };
  benchmarks: { key: string; value: BenchmarkRecord };
}

export type StudioDB = IDBPDatabase<StudioSchema>;

/** The page's view of the store: it reads; the app layer (src/app) writes. */
export type StudioReader = Pick<StudioDB, 'get' | 'getAll' | 'getAllFromIndex' | 'count'>;

export function openStudioDB(name = DB_NAME): Promise<StudioDB> {
  return openDB<StudioSchema>(name, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('datasets', { keyPath: 'id' });
        db.createObjectStore('images', { keyPath: ['datasetId', 'index'] }).createIndex('byDataset', 'datasetId');
        db.createObjectStore('models', { keyPath: 'id' });
        db.createObjectStore('runs', { keyPath: 'id' });
        db.createObjectStore('checkpoints', { keyPath: 'runId' });
        db.createObjectStore('checkpointFiles', { keyPath: ['runId', 'name'] }).createIndex('byRun', 'runId');
      }
      if (oldVersion < 2) db.createObjectStore('benchmarks', { keyPath: 'id' });
      if (oldVersion < 3) db.createObjectStore('probes', { keyPath: 'key' });
    },
  });
}

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A storage failure in words a user can act on; QuotaExceededError arrives as a transaction abort. */
export function storageError(e: unknown, what: string): Error {
  const err = e as DOMException | Error | undefined;
  const name = (err as DOMException)?.name;
  if (name === 'QuotaExceededError' || /quota/i.test(err?.message ?? '')) {
    return new Error(`Not enough storage to save ${what}: the browser's quota for this site is used up. Delete old runs or datasets on the Storage page (nothing already saved was lost).`);
  }
  return new Error(`Could not save ${what}: ${err?.message ?? String(e)}`);
}
