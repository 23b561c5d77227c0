/**
 * Pipeline worker: everything heavy of the studio happens here, never on the page. A thin comlink
 * adapter over the app layer (src/app: datasets, models, runs, exports), which reads and writes
 * IndexedDB; this file holds what belongs to the worker itself: the backend it started (and the
 * switch to WASM when the GPU is lost), the pause and cancel flags of the run under way, the
 * throttling of progress messages and the transfer of bytes to the page.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, type BackendInfo, type BackendName } from '../core/backend';
import type { TaskName } from '../core/data/tasks';
import type { PresetTask } from '../core/models/presets';
import type { Progress } from '../core/compress/pipeline';
import type { RunSpec } from '../core/compress/spec';
import type { Arch } from '../core/models/zoo';
import type { Precision } from '../core/io/quantize';
import type { ExportFormat } from '../core/io/formats';
import type { RawImage } from '../core/data/dataset';
import { openStudioDB, type DatasetRecord, type ModelRecord, type RunRecord, type StudioDB } from '../store/db';
import { renameRecord } from '../store/records';
import { createCaptureDataset, createDemoDataset, importDataset, type ImportFiles } from '../app/datasets';
import { createZooModel, describeModel, importModel, loadPreset } from '../app/models';
import { createRun, discardCheckpoints, fastestTrainingBatch, runStored, trainCycleGan } from '../app/runs';
import { compareExports, exportFiles, exportZip } from '../app/exports';
import { WASM_PATHS } from './wasm-paths';
import { fastestMeasurer, foldedMeasurer, timedMeasurer } from '../core/measure/latency';
import { onnxLatencyMeasurer } from '../core/io/onnx-run';
import { availableThreads } from '../core/backend/choice';
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

export type { ImportFiles };

/**
 * FPS budgets and reports time each model as Live will run it: on tfjs (batch norms folded) and on
 * onnxruntime-web with as many threads as Live gives it, the faster counting (onnxSession refuses
 * next to WebGPU, so there only tfjs counts).
 */
function inferenceMeasurer(runs: number) {
  const onTfjs = foldedMeasurer(timedMeasurer({ runs }));
  ort.env.wasm.wasmPaths = { wasm: ortWasm };
  return fastestMeasurer([onTfjs, onnxLatencyMeasurer(availableThreads(), runs)]);
}

let db: StudioDB | null = null;
let backend: BackendInfo | null = null;
let stopRequested = false;
let cancelRequested = false;
/** Set when the WebGPU device reports it was lost (GPUDevice.lost), with the browser's reason. */
let gpuLost: string | null = null;
let gpuLostSettled: Promise<void> | null = null;

/** The WebGPU backend's device (tfjs keeps it on the backend object). */
function gpuDevice(): GPUDevice {
  return (tf.backend() as unknown as { device: GPUDevice }).device;
}

async function database(): Promise<StudioDB> {
  db ??= await openStudioDB();
  return db;
}

/**
 * The message a failed run keeps. A lost WebGPU device fails the next GPU read before
 * GPUDevice.lost settles, so this waits for it a moment (generously: on a busy machine the lost
 * promise can take seconds); when the GPU went away (driver reset, out of memory, device
 * destroyed) the worker carries on on WASM and the run can resume there.
 */
async function explainFailure(e: Error): Promise<string> {
  if (backend?.name !== 'webgpu') return e.message;
  await Promise.race([gpuLostSettled, new Promise((r) => setTimeout(r, 10_000))]);
  if (gpuLost === null && !/device.*(lost|destroyed)|lost.*device/i.test(e.message)) return e.message;
  const reason = gpuLost ?? e.message;
  backend = await initBackend({ prefer: 'wasm', why: 'the GPU device was lost', wasmPaths: WASM_PATHS });
  return `The GPU device was lost (${reason}). The run is kept at its last checkpoint and the studio switched to WASM: Resume continues there.`;
}

/** Forwards at most one progress report per `ms` (each is a message round trip), sample images transferred. */
function throttle(onProgress: (p: Progress) => void, ms: number) {
  let last = 0;
  return (p: Progress) => {
    const now = performance.now();
    if (now - last < ms && p.step !== p.steps && !p.samples) return;
    last = now;
    const s = p.samples;
    const buffers = s ? [s.input.buffer, s.output.buffer, ...(s.reference ? [s.reference.buffer] : [])] : [];
    onProgress(Comlink.transfer(p, buffers as ArrayBuffer[]));
  };
}

/** The initialisation under way: a run started meanwhile waits for it instead of starting another. */
let initialising: Promise<BackendInfo> | null = null;
/** Resolved by the page's first init(): the page decides the backend (measured), never a default order. */
let announceInit!: () => void;
const initCalled = new Promise<void>((resolve) => (announceInit = resolve));

/** The backend, initialised (or being initialised) once the page has chosen it: every method that runs tfjs awaits this. */
async function ready(): Promise<void> {
  if (backend) return;
  await initCalled;
  await initialising;
}

const api = {
  /** Starts tfjs on `prefer` (the page's measured or manual choice), `why` being the reason shown. */
  async init(prefer: BackendName, why?: string): Promise<BackendInfo> {
    const previous = initialising;
    initialising = (async () => {
      await previous?.catch(() => undefined);
      backend = await initBackend({ prefer, why, wasmPaths: WASM_PATHS });
      gpuLost = null;
      if (backend.name === 'webgpu') {
        gpuLostSettled = gpuDevice().lost.then((info) => void (gpuLost = info.message || info.reason || 'no reason given'));
      }
      return backend;
    })();
    announceInit();
    return initialising;
  },

  /** The backend runs use now (it changes when the GPU is lost). */
  backendInfo(): BackendInfo | null {
    return backend;
  },

  /** Diagnostics (the page's ?debug=1): destroys the GPU device as a driver reset would. */
  simulateDeviceLoss(): void {
    if (backend?.name !== 'webgpu') throw new Error('Runs are not on WebGPU here');
    gpuDevice().destroy();
  },

  /** A built-in task's data (see app/datasets.ts), stored in chunks with progress after each. */
  async createDemoDataset(task: TaskName, count: number, size: number, onProgress?: (done: number, total: number) => void, seed = 1): Promise<DatasetRecord> {
    return createDemoDataset(await database(), task, count, size, onProgress, seed);
  },

  /** A preset's shipped base model (fetched from `modelUrl`) and a dataset of its task, reused when stored. */
  async loadPreset(task: PresetTask, modelUrl: string, count: number, onProgress?: (done: number, total: number) => void): Promise<{ model: ModelRecord; dataset: DatasetRecord }> {
    await ready();
    return loadPreset(await database(), task, modelUrl, count, onProgress);
  },

  /** The batch size this backend trains a stored model fastest at on a stored dataset, with its images per second. */
  async fastestTrainingBatch(modelId: string, datasetId: string, size: number, candidates: number[]) {
    await ready();
    return fastestTrainingBatch(await database(), modelId, datasetId, size, candidates);
  },

  /** Webcam frames (square RGBA) as a face -> cartoon dataset: each frame with its cartoon. */
  async createCaptureDataset(frames: RawImage[]): Promise<DatasetRecord> {
    return createCaptureDataset(await database(), frames);
  },

  /** Imports images into a dataset; unusable files are listed with the reason and left out. */
  async importDataset(name: string, files: ImportFiles): Promise<{ dataset: DatasetRecord | null; errors: string[] }> {
    return importDataset(await database(), name, files);
  },

  /** Imports an ONNX or tfjs Layers model, refused before storing when the pruner cannot handle it. */
  async importModel(files: { name: string; bytes: ArrayBuffer }[], inputRange: ModelRecord['inputRange']): Promise<ModelRecord> {
    await ready();
    return importModel(await database(), files, inputRange);
  },

  async createZooModel(arch: Arch, ngf: number, depth: number): Promise<ModelRecord> {
    await ready();
    return createZooModel(await database(), arch, ngf, depth);
  },

  /** Trains a CycleGAN from two unpaired datasets and stores G: A -> B (not checkpointed). */
  async trainCycleGan(aId: string, bId: string, o: { ngf: number; blocks: number; size: number; steps: number }, onProgress: (step: number, steps: number, cycle: number) => void): Promise<ModelRecord> {
    await ready();
    return trainCycleGan(await database(), aId, bId, o, onProgress);
  },

  /** MACs and params of a stored model at a size, and whether the pruner can handle it. */
  async describeModel(modelId: string, size: number) {
    await ready();
    return describeModel(await database(), modelId, size);
  },

  /** A new queued run, its spec validated (a wrong field is refused with its name). */
  async createRun(name: string, datasetId: string, modelId: string, spec: Partial<RunSpec>): Promise<RunRecord> {
    return createRun(await database(), name, datasetId, modelId, spec);
  },

  /** Starts or resumes a run; resolves with the final record (done, paused, cancelled or failed). */
  async run(runId: string, onProgress: (p: Progress) => void): Promise<RunRecord> {
    stopRequested = false;
    cancelRequested = false;
    return runStored(await database(), runId, {
      ready,
      backend: () => describeBackend(backend!),
      device: `${navigator.userAgent}; ${navigator.hardwareConcurrency} logical cores`,
      measureLatency: inferenceMeasurer,
      shouldStop: () => stopRequested,
      cancelled: () => cancelRequested,
      onProgress: throttle(onProgress, 250),
      failure: explainFailure,
    });
  },

  /** The model's files at each precision with their size and PSNR against float32 on up to 8 images. */
  async compareExports(modelId: string, datasetId: string, size: number): Promise<{ precision: Precision; bytes: number; psnr: number }[]> {
    await ready();
    return compareExports(await database(), modelId, datasetId, size);
  },

  /** The model as a .zip in a deployment format, with a README.md (the bytes are transferred). */
  async exportZip(modelId: string, format: ExportFormat, size?: number): Promise<Uint8Array> {
    await ready();
    const zip = await exportZip(await database(), modelId, format, size);
    return Comlink.transfer(zip, [zip.buffer]);
  },

  /** model.json text and weights.bin bytes at a precision (the bytes are transferred). */
  async exportFiles(modelId: string, precision: Precision): Promise<{ modelJson: string; weights: ArrayBuffer }> {
    await ready();
    const files = await exportFiles(await database(), modelId, precision);
    return Comlink.transfer(files, [files.weights]);
  },

  /** Renames a run or a model (the user's name replaces the generated one). */
  async rename(store: 'runs' | 'models', id: string, name: string): Promise<void> {
    await renameRecord(await database(), store, id, name);
  },

  /** Asks the running pipeline to checkpoint and stop after its current step. */
  pause(): void {
    stopRequested = true;
  },

  /** Stops the running pipeline after its current step and discards its checkpoints. */
  cancel(): void {
    cancelRequested = true;
    stopRequested = true;
  },

  /** Cancels a run that is not running: its checkpoints go, its record says cancelled. */
  async discardCheckpoints(runId: string): Promise<void> {
    await discardCheckpoints(await database(), runId);
  },
};

export type PipelineApi = typeof api;
Comlink.expose(api);
