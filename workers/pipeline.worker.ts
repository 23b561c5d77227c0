/**
 * Pipeline worker: everything heavy of a compression run happens here, never on the page. It
 * reads the dataset and model from IndexedDB, runs the core stage machine with checkpoints in
 * IndexedDB, reports progress through a (throttled) Comlink callback and stores the student and
 * the report when the run ends. A run interrupted in any way (pause, error, closed tab) resumes
 * from its last checkpoint.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, type BackendInfo, type BackendName } from '../src/core/backend';
import { rangeWidth, trainingSets, type RawImage } from '../src/core/data/dataset';
import { defaultHeldOut } from '../src/core/data/split';
import { cartoonize } from '../src/core/data/cartoon';
import { centreSquare } from '../src/core/data/photo-augment';
import { pairByName, splitSideBySide, uniqueByName, type Duplicate } from '../src/core/data/pairing';
import { timedTrainingThroughput } from '../src/core/train/throughput';
import { fastestBatch, type BatchChoice } from '../src/core/train/run-size';
import { colourLabelMap } from '../src/core/data/labels';
import { taskItems, taskKind, type TaskName } from '../src/core/data/tasks';
import { presetFor, type PresetTask } from '../src/core/models/presets';
import { PipelineStopped, runPipeline, type Progress } from '../src/core/compress/pipeline';
import { readChannelGraph } from '../src/core/graph/channel-graph';
import { modelCost } from '../src/core/measure/cost';
import { buildGenerator, defaultSpec, type Arch } from '../src/core/models/zoo';
import { trainCycleGan } from '../src/core/train/cyclegan';
import { fetchModel, fetchModelFile, loadModelFromFiles, saveModelToFiles } from '../src/core/io/model-files';
import { PRECISIONS, quantizeModelFiles, type Precision } from '../src/core/io/quantize';
import { modelZip, type ExportFormat } from '../src/core/io/formats';
import { fromOnnx } from '../src/core/io/onnx-import';
import { predictAll, psnr, quality } from '../src/core/measure/quality';
import { sampleGrid } from '../src/core/measure/samples';
import { openStudioDB, type DatasetRecord, type ModelRecord, type RunRecord, type StudioDB } from '../src/store/db';
import { IndexedDBCheckpointStore } from '../src/store/checkpoints';
import { appendImages, decodeBlob, encodePngBlob, loadImages, loadModel, modelFromRecord, newDataset, renameRecord, saveDataset, saveModel, storedModel, updateRun, type ImagePair } from '../src/store/records';
import { WASM_PATHS } from './wasm-paths';
import { fastestMeasurer, foldedMeasurer, timedMeasurer } from '../src/core/measure/latency';
import { onnxLatencyMeasurer } from '../src/core/io/onnx-run';
import { availableThreads } from '../src/core/backend/choice';
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

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

const TASK_LABELS: Record<TaskName, string> = {
  shapes: 'Shapes -> painting',
  'mask-to-face': 'Mask -> face',
  'face-to-cartoon': 'Face -> cartoon',
  unpaired: 'Day / night (unpaired)',
};

export type ImportFiles =
  | { mode: 'paired'; inputs: File[]; targets: File[] }
  | { mode: 'side-by-side'; inputs: File[]; direction: 'AtoB' | 'BtoA' }
  | { mode: 'unpaired'; inputs: File[] }
  /** The user's photos: each centre-cropped to `size`, its target the cartoon filter's output. */
  | { mode: 'cartoon'; inputs: File[]; size: number }
  /** CelebAMask-HQ style: grey label PNGs (class index per pixel) matched by name with photos. */
  | { mode: 'labels'; inputs: File[]; targets: File[]; classes: number };

/** Images generated and stored per IndexedDB transaction (and per progress report). */
const CHUNK = 16;

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

/** Decoded images of a dataset, split as the dataset says (the last `heldOut` for evaluation). */
async function loadDataset(datasetId: string, spec: Pick<RunRecord['spec'], 'size' | 'jitter' | 'inputRange'>, inChannels: number, outChannels: number) {
  const store = await database();
  const record = await store.get('datasets', datasetId);
  if (!record) throw new Error('That dataset is not in storage any more');
  const records = await loadImages(store, datasetId);
  const inputs: RawImage[] = [];
  const targets: RawImage[] = [];
  for (const r of records) {
    inputs.push(await decodeBlob(r.input, r.name));
    if (r.target) targets.push(await decodeBlob(r.target, `${r.name} (target)`));
  }
  return trainingSets(inputs, targets.length === inputs.length ? targets : null, {
    size: spec.size,
    jitter: spec.jitter,
    range: spec.inputRange,
    heldOut: record.heldOut ?? defaultHeldOut(records.length),
    inChannels,
    outChannels,
  });
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

  /**
   * A built-in task's data, generated and stored in chunks of CHUNK images (progress after each):
   * one paired dataset, or for the unpaired task two datasets, domain B then domain A (returned).
   */
  async createDemoDataset(task: TaskName, count: number, size: number, onProgress?: (done: number, total: number) => void, seed = 1): Promise<DatasetRecord> {
    const store = await database();
    const label = `${TASK_LABELS[task]} (${count} x ${size}px)`;
    const extra = { task, size, heldOut: defaultHeldOut(count) };
    const png = async (img: RawImage, target: RawImage | null): Promise<ImagePair> => ({ name: `${img.name}.png`, input: await encodePngBlob(img), target: target && (await encodePngBlob(target)) });
    const unpaired = taskKind(task) === 'unpaired';
    let a = newDataset(unpaired ? `${label}, domain A` : label, taskKind(task), extra);
    let b = unpaired ? newDataset(`${label}, domain B`, 'unpaired', extra) : null;
    const items = taskItems(task, size, seed);
    for (let done = 0; done < count; ) {
      const chunk = Array.from({ length: Math.min(CHUNK, count - done) }, () => items.next().value as [RawImage, RawImage]);
      done += chunk.length;
      const last = done === count;
      if (b) {
        b = await appendImages(store, b, await Promise.all(chunk.map(([, y]) => png(y, null))), last);
        a = await appendImages(store, a, await Promise.all(chunk.map(([x]) => png(x, null))), last);
      } else {
        a = await appendImages(store, a, await Promise.all(chunk.map(([x, y]) => png(x, y))), last);
      }
      onProgress?.(done, count);
    }
    return a;
  },

  /**
   * A preset's shipped base model (fetched from `modelUrl`, the app's own copy of
   * public/models/<task>/) and a dataset of its task; both are reused when already stored.
   */
  async loadPreset(task: PresetTask, modelUrl: string, count: number, onProgress?: (done: number, total: number) => void): Promise<{ model: ModelRecord; dataset: DatasetRecord }> {
    await ready();
    const preset = presetFor(task);
    const store = await database();
    let model = (await store.getAll('models')).find((m) => m.preset?.task === task);
    if (!model) {
      const label = `the shipped base model for '${preset.label}'`;
      const [loaded, info] = await Promise.all([fetchModel(modelUrl, label), fetchModelFile(modelUrl, 'info.json', label)]);
      try {
        model = await saveModel(store, loaded, { name: `${preset.label} base (shipped)`, source: 'preset', inputRange: '-1,1', preset: { task, info: JSON.parse(new TextDecoder().decode(info)) } });
      } finally {
        loaded.dispose();
      }
    }
    const existing = (await store.getAll('datasets')).find((d) => d.task === task && d.size === preset.size && d.count === count && d.complete !== false && !d.name.endsWith('domain B'));
    const dataset = existing ?? (await api.createDemoDataset(task, count, preset.size, onProgress));
    return { model, dataset };
  },

  /**
   * The batch size this backend trains a stored model fastest at on a stored dataset, with its
   * images per second, so a run can be sized to the minutes the user gives (real optimizer steps
   * on a copy of the model; model and data are read once for all candidates).
   */
  async fastestTrainingBatch(modelId: string, datasetId: string, size: number, candidates: number[]): Promise<BatchChoice> {
    await ready();
    const store = await database();
    const model = await loadModel(store, modelId);
    const { train, test } = await loadDataset(datasetId, { size, jitter: 0, inputRange: '-1,1' }, model.inputs[0].shape[3]!, model.outputs[0].shape[3]!);
    try {
      return await fastestBatch(candidates, timedTrainingThroughput(model, train, size, { warmup: 1, steps: 3 }));
    } finally {
      [model, train, test].forEach((x) => x.dispose());
    }
  },

  /** Webcam frames (square RGBA) as a face -> cartoon dataset: each frame with its cartoon. */
  async createCaptureDataset(frames: RawImage[]): Promise<DatasetRecord> {
    if (frames.length < 2) throw new Error('Capture at least 2 frames (one is held out for evaluation)');
    const pairs = await Promise.all(frames.map(async (f) => ({ name: `${f.name}.png`, input: await encodePngBlob(f), target: await encodePngBlob(cartoonize(f)) })));
    return saveDataset(await database(), `Webcam -> cartoon (${frames.length} x ${frames[0].width}px, ${new Date().toLocaleString()})`, pairs, { size: frames[0].width });
  },

  /**
   * Imports images into a dataset. Every file is decoded first: unusable ones are listed with the
   * reason and left out, the rest are stored (nothing is stored if none is usable).
   */
  async importDataset(name: string, files: ImportFiles): Promise<{ dataset: DatasetRecord | null; errors: string[] }> {
    const errors: string[] = [];
    const usable = async (f: File) => {
      try {
        return await decodeBlob(f, f.name);
      } catch (e) {
        errors.push((e as Error).message);
        return null;
      }
    };
    const pairs: { name: string; input: Blob; target: Blob | null }[] = [];
    // Names pair inputs with targets and name the stored images: the second of two files with the
    // same name (extension aside, e.g. from two folders) is left out rather than silently paired.
    const leftOut = (duplicates: Duplicate<File>[], what: string) =>
      duplicates.forEach((d) => errors.push(`${what} '${d.file.name}' has the same name as '${d.first.name}'; it was left out (names must be unique)`));
    const inputsWhat = files.mode === 'labels' ? 'Label map' : 'Image';
    /** The inputs of a mode without targets, each name once. */
    const unpairedInputs = () => {
      const { kept, duplicates } = uniqueByName(files.inputs);
      leftOut(duplicates, inputsWhat);
      return kept;
    };
    if (files.mode === 'side-by-side') {
      for (const f of unpairedInputs()) {
        const img = await usable(f);
        if (!img) continue;
        try {
          const [input, target] = splitSideBySide(img, files.direction);
          pairs.push({ name: f.name, input: await encodePngBlob(input), target: await encodePngBlob(target) });
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    } else if (files.mode === 'paired' || files.mode === 'labels') {
      const matched = pairByName(files.inputs, files.targets);
      leftOut(matched.inputDuplicates, inputsWhat);
      leftOut(matched.targetDuplicates, 'Target');
      for (const t of matched.targetsWithoutInput) errors.push(`Target '${t.name}' has no input of the same name`);
      for (const f of matched.inputsWithoutTarget) errors.push(`Input '${f.name}' has no target of the same name`);
      for (const { input: f, target: t } of matched.pairs) {
        const [a, b] = [await usable(f), await usable(t)];
        if (!a || !b) continue;
        if (a.width !== b.width || a.height !== b.height) {
          errors.push(`Input '${f.name}' is ${a.width}x${a.height} but its target is ${b.width}x${b.height}`);
          continue;
        }
        if (files.mode === 'labels') {
          try {
            pairs.push({ name: f.name, input: await encodePngBlob(colourLabelMap(a, files.classes)), target: t });
          } catch (e) {
            errors.push((e as Error).message);
          }
          continue;
        }
        pairs.push({ name: f.name, input: f, target: t });
      }
    } else if (files.mode === 'cartoon') {
      for (const f of unpairedInputs()) {
        const img = await usable(f);
        if (!img) continue;
        const square = centreSquare(img, files.size);
        pairs.push({ name: f.name, input: await encodePngBlob(square), target: await encodePngBlob(cartoonize(square)) });
      }
    } else {
      for (const f of unpairedInputs()) if (await usable(f)) pairs.push({ name: f.name, input: f, target: null });
    }
    if (pairs.length === 0) return { dataset: null, errors: errors.length ? errors : ['No images were given'] };
    return { dataset: await saveDataset(await database(), name, pairs), errors };
  },

  /**
   * Imports a model: an ONNX file, or a tfjs Layers model from its files (model.json + weight
   * shards). The model is built and read into a channel graph before anything is stored, so an
   * unsupported one is refused with the node or layer that is the problem. An ONNX file exported by
   * alap carries its value range, which then wins over the one chosen.
   */
  async importModel(files: { name: string; bytes: ArrayBuffer }[], inputRange: ModelRecord['inputRange']): Promise<ModelRecord> {
    await ready();
    const onnxFile = files.find((f) => f.name.toLowerCase().endsWith('.onnx'));
    const json = files.find((f) => f.name.endsWith('.json'));
    let model: tf.LayersModel;
    let name: string;
    let range = inputRange;
    if (onnxFile) {
      name = onnxFile.name.replace(/\.onnx$/i, '');
      const imported = fromOnnx(new Uint8Array(onnxFile.bytes), name);
      model = imported.model;
      const stored = imported.metadata.input_range;
      if (stored === '-1,1' || stored === '0,1' || stored === '0,255') range = stored;
    } else {
      if (!json) throw new Error('Choose an .onnx file, or a model.json together with its weight shards (.bin)');
      const shards = new Map(files.filter((f) => f !== json).map((f) => [f.name, new Uint8Array(f.bytes)]));
      model = await loadModelFromFiles(new TextDecoder().decode(json.bytes), shards, json.name);
      name = model.name || json.name;
    }
    try {
      readChannelGraph(model);
      return await saveModel(await database(), model, { name, source: 'import', inputRange: range });
    } finally {
      model.dispose();
    }
  },

  async createZooModel(arch: Arch, ngf: number, depth: number): Promise<ModelRecord> {
    await ready();
    const model = buildGenerator(defaultSpec(arch, { ngf, depth, size: null, inChannels: 3 }));
    try {
      return await saveModel(await database(), model, { name: `${arch} ngf=${ngf} depth=${depth}`, source: 'zoo', inputRange: '-1,1' });
    } finally {
      model.dispose();
    }
  },

  /**
   * Trains a CycleGAN from scratch on two unpaired datasets and stores G: A -> B as a base model.
   * Not checkpointed: a closed tab loses it. Progress: step, steps, cycle loss.
   */
  async trainCycleGan(
    aId: string,
    bId: string,
    o: { ngf: number; blocks: number; size: number; steps: number },
    onProgress: (step: number, steps: number, cycle: number) => void,
  ): Promise<ModelRecord> {
    await ready();
    const spec = { size: o.size, jitter: 0, inputRange: '-1,1' as const };
    const a = await loadDataset(aId, spec, 3, 3);
    const b = await loadDataset(bId, spec, 3, 3);
    try {
      const generator = defaultSpec('resnet', { ngf: o.ngf, depth: o.blocks, size: null });
      const { model, losses } = await trainCycleGan({ a: a.train, b: b.train, generator, steps: o.steps, seed: 1, reportEvery: 1, onReport: (step, l) => onProgress(step, o.steps, l.cycle) });
      try {
        return await saveModel(await database(), model, { name: `CycleGAN A -> B, ngf=${o.ngf}, ${o.blocks} blocks, ${o.steps} steps (cycle loss ${losses.cycle.toFixed(3)})`, source: 'trained', inputRange: '-1,1' });
      } finally {
        model.dispose();
      }
    } finally {
      [a.train, a.test, b.train, b.test].forEach((d) => d.dispose());
    }
  },

  /** MACs and params of a stored model at a size, and whether the pruner can handle it. */
  async describeModel(modelId: string, size: number) {
    await ready();
    const model = await loadModel(await database(), modelId);
    try {
      const graph = readChannelGraph(model);
      const cost = modelCost(graph, [size, size]);
      return {
        macs: cost.macs,
        params: cost.params,
        groups: graph.groups.length,
        prunable: graph.groups.filter((g) => g.prunable).length,
        layers: cost.layers.map((l) => ({ ...l, groups: new Set(graph.byName.get(l.name)!.channels).size })),
      };
    } finally {
      model.dispose();
    }
  },

  /** Starts or resumes a run; resolves with the final record (done, paused or failed). */
  async run(runId: string, onProgress: (p: Progress) => void): Promise<RunRecord> {
    const store = await database();
    stopRequested = false;
    cancelRequested = false;
    let run = await updateRun(store, runId, { status: 'running', error: undefined });
    try {
      await ready();
      const model = await loadModel(store, run.modelId);
      const inC = model.inputs[0].shape[3]!;
      const outC = model.outputs[0].shape[3]!;
      const { train, test } = await loadDataset(run.datasetId, run.spec, inC, outC);
      const checkpoints = new IndexedDBCheckpointStore(store, runId);
      try {
        const report = throttle(onProgress, 250);
        const { student, report: result } = await runPipeline({
          spec: run.spec,
          model,
          train,
          test,
          store: checkpoints,
          backend: describeBackend(backend!),
          device: `${navigator.userAgent}; ${navigator.hardwareConcurrency} logical cores`,
          measureLatency: inferenceMeasurer(run.spec.latencyRuns),
          shouldStop: () => stopRequested,
          onProgress: (p) => {
            report(p);
            if (p.step === p.steps || p.step % 10 === 0) void updateRun(store, runId, { stage: p.stage, step: p.step });
          },
        });
        const training = run.spec.task === 'train';
        const grid = await sampleGrid(test.inputs, test.targets, [...(training ? [] : [{ label: 'original', model }]), { label: training ? 'trained' : 'compressed', model: student }], run.spec.inputRange, test.names);
        const samples = { columns: grid.columns, rows: await Promise.all(grid.rows.map(async (r) => ({ name: r.name, cells: await Promise.all(r.cells.map((c) => encodePngBlob({ name: r.name, width: grid.width, height: grid.height, channels: 4, data: new Uint8Array(c.buffer) }))) }))) };
        let trained;
        if (training && test.targets) {
          const predicted = predictAll(student, test.inputs);
          trained = await quality(predicted, test.targets, rangeWidth(run.spec.inputRange));
          predicted.dispose();
        }
        // Named as its run; the model list adds the source ("trained", "student").
        const saved = await saveModel(store, student, { name: run.name, source: training ? 'trained' : 'student', inputRange: run.spec.inputRange });
        student.dispose();
        run = await updateRun(store, runId, { status: 'done', report: result ?? undefined, trained, samples, studentModelId: saved.id, stage: 'done' });
        await checkpoints.clear();
      } finally {
        model.dispose();
        train.dispose();
        test.dispose();
      }
    } catch (e) {
      const stopped = e instanceof PipelineStopped;
      if (stopped && cancelRequested) {
        await new IndexedDBCheckpointStore(store, runId).clear();
        run = await updateRun(store, runId, { status: 'cancelled' });
      } else {
        if (!stopped) console.error('run failed', e);
        let error = stopped ? undefined : (e as Error).message;
        if (!stopped && backend?.name === 'webgpu') {
          // A lost device fails the next GPU read before GPUDevice.lost settles: give it a moment.
          // (Generous: on a busy machine the lost promise can take seconds; other failures wait too.)
          await Promise.race([gpuLostSettled, new Promise((r) => setTimeout(r, 10_000))]);
          if (gpuLost !== null || /device.*(lost|destroyed)|lost.*device/i.test(error ?? '')) {
            // The GPU went away (driver reset, out of memory, device destroyed): carry on on the CPU.
            const reason = gpuLost ?? error;
            backend = await initBackend({ prefer: 'wasm', why: 'the GPU device was lost', wasmPaths: WASM_PATHS });
            error = `The GPU device was lost (${reason}). The run is kept at its last checkpoint and the studio switched to WASM: Resume continues there.`;
          }
        }
        run = await updateRun(store, runId, { status: stopped ? 'paused' : 'failed', error });
      }
    }
    return run;
  },

  /**
   * The model's files at each precision with their size and the PSNR they cost against float32
   * on up to 8 images of a dataset (what the user sees before choosing a download).
   */
  async compareExports(modelId: string, datasetId: string, size: number): Promise<{ precision: Precision; bytes: number; psnr: number }[]> {
    await ready();
    const store = await database();
    const record = await storedModel(store, modelId);
    const model = await modelFromRecord(record);
    const files = await saveModelToFiles(model);
    const { train, test } = await loadDataset(datasetId, { size, jitter: 0, inputRange: record.inputRange }, model.inputs[0].shape[3]!, model.outputs[0].shape[3]!);
    const inputs = tf.concat([test.inputs, tf.slice(train.inputs, 0, Math.min(8 - test.length, train.length))]) as tf.Tensor4D;
    const reference = predictAll(model, inputs);
    try {
      const rows = [];
      for (const precision of PRECISIONS) {
        const q = quantizeModelFiles(files, precision);
        const loaded = await loadModelFromFiles(q.modelJson, q.shards);
        const out = predictAll(loaded, inputs);
        rows.push({ precision, bytes: q.modelJson.length + q.shards.get('weights.bin')!.byteLength, psnr: await psnr(out, reference, rangeWidth(record.inputRange)) });
        out.dispose();
        loaded.dispose();
      }
      return rows;
    } finally {
      tf.dispose([inputs, reference]);
      model.dispose();
      train.dispose();
      test.dispose();
    }
  },

  /**
   * The model as a .zip in a deployment format, with a README.md showing how to load and run it
   * (the bytes are transferred).
   */
  async exportZip(modelId: string, format: ExportFormat, size?: number): Promise<Uint8Array> {
    await ready();
    const record = await storedModel(await database(), modelId);
    const model = await modelFromRecord(record);
    try {
      const zip = await modelZip(model, format, { inputRange: record.inputRange, size });
      return Comlink.transfer(zip, [zip.buffer]);
    } finally {
      model.dispose();
    }
  },

  /** model.json text and weights.bin bytes at a precision (the bytes are transferred). */
  async exportFiles(modelId: string, precision: Precision): Promise<{ modelJson: string; weights: ArrayBuffer }> {
    await ready();
    const model = await loadModel(await database(), modelId);
    const q = quantizeModelFiles(await saveModelToFiles(model), precision);
    model.dispose();
    const weights = q.shards.get('weights.bin')!.slice().buffer;
    return Comlink.transfer({ modelJson: q.modelJson, weights }, [weights]);
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
    const store = await database();
    await new IndexedDBCheckpointStore(store, runId).clear();
    await updateRun(store, runId, { status: 'cancelled' });
  },
};

export type PipelineApi = typeof api;
Comlink.expose(api);
