/**
 * Runs of the studio: a compression (or base training) run started or resumed from its
 * IndexedDB checkpoints, stored with its student, report and sample grid when it ends; the fastest
 * training batch of a model on a dataset; a CycleGAN trained from two unpaired datasets. The app
 * layer (see datasets.ts); the worker supplies what depends on where it runs (RunHooks).
 */
import { rangeWidth } from '../core/data/dataset';
import { timedTrainingThroughput } from '../core/train/throughput';
import { fastestBatch, type BatchChoice } from '../core/train/run-size';
import { PipelineStopped, runPipeline, type Progress } from '../core/compress/pipeline';
import { defaultSpec } from '../core/models/zoo';
import { trainCycleGan as trainCycleGanModel } from '../core/train/cyclegan';
import type { LatencyMeasurer } from '../core/measure/latency';
import { predictAll, quality } from '../core/measure/quality';
import { sampleGrid } from '../core/measure/samples';
import { DEFAULT_SPEC, parseRunSpec, type RunSpec } from '../core/compress/spec';
import { announceChange } from '../store/changes';
import { newId, type ModelRecord, type RunRecord, type StudioDB } from '../store/db';
import { IndexedDBCheckpointStore } from '../store/checkpoints';
import { encodePngBlob, loadModel, saveModel, updateRun } from '../store/records';
import { loadDataset } from './datasets';

/**
 * The batch size this backend trains a stored model fastest at on a stored dataset, with its
 * images per second, so a run can be sized to the minutes the user gives (real optimizer steps
 * on a copy of the model; model and data are read once for all candidates).
 */
export async function fastestTrainingBatch(db: StudioDB, modelId: string, datasetId: string, size: number, candidates: number[]): Promise<BatchChoice> {
  const model = await loadModel(db, modelId);
  const { train, test } = await loadDataset(db, datasetId, { size, jitter: 0, inputRange: '-1,1' }, model.inputs[0].shape[3]!, model.outputs[0].shape[3]!);
  try {
    return await fastestBatch(candidates, timedTrainingThroughput(model, train, size, { warmup: 1, steps: 3 }));
  } finally {
    [model, train, test].forEach((x) => x.dispose());
  }
}

/**
 * Trains a CycleGAN from scratch on two unpaired datasets and stores G: A -> B as a base model.
 * Not checkpointed: a closed tab loses it. Progress: step, steps, cycle loss.
 */
export async function trainCycleGan(
  db: StudioDB,
  aId: string,
  bId: string,
  o: { ngf: number; blocks: number; size: number; steps: number },
  onProgress: (step: number, steps: number, cycle: number) => void,
): Promise<ModelRecord> {
  const spec = { size: o.size, jitter: 0, inputRange: '-1,1' as const };
  const a = await loadDataset(db, aId, spec, 3, 3);
  const b = await loadDataset(db, bId, spec, 3, 3);
  try {
    const generator = defaultSpec('resnet', { ngf: o.ngf, depth: o.blocks, size: null });
    const { model, losses } = await trainCycleGanModel({ a: a.train, b: b.train, generator, steps: o.steps, seed: 1, reportEvery: 1, onReport: (step, l) => onProgress(step, o.steps, l.cycle) });
    try {
      return await saveModel(db, model, { name: `CycleGAN A -> B, ngf=${o.ngf}, ${o.blocks} blocks, ${o.steps} steps (cycle loss ${losses.cycle.toFixed(3)})`, source: 'trained', inputRange: '-1,1' });
    } finally {
      model.dispose();
    }
  } finally {
    [a.train, a.test, b.train, b.test].forEach((d) => d.dispose());
  }
}

/**
 * A new queued run of a stored model on a stored dataset. Its spec, the defaults filled in, is
 * validated here, once, whoever starts it (the studio's form, Cartoon me); a wrong field is refused
 * with its name before anything is stored.
 */
export async function createRun(db: StudioDB, name: string, datasetId: string, modelId: string, spec: Partial<RunSpec>): Promise<RunRecord> {
  const now = Date.now();
  const run: RunRecord = {
    id: newId('run'),
    name,
    spec: parseRunSpec({ ...DEFAULT_SPEC, ...spec, steps: { ...DEFAULT_SPEC.steps, ...spec.steps }, loss: { ...DEFAULT_SPEC.loss, ...spec.loss } }, 'The form'),
    datasetId,
    modelId,
    status: 'queued',
    createdAt: now,
    updatedAt: now,
  };
  await db.put('runs', run);
  announceChange('runs');
  return run;
}

/** What a run needs from where it runs (the pipeline worker): its backend, timing, controls and recovery. */
export interface RunHooks {
  /** Resolves once the backend is ready (after the run is marked running). */
  ready: () => Promise<void>;
  /** The backend and device, for the report. */
  backend: () => string;
  device: string;
  /** How FPS budgets and the report time a model (as Live will run it), timing `runs` frames. */
  measureLatency: (runs: number) => LatencyMeasurer;
  /** Checked after every step: true checkpoints and pauses the run (or cancels it, with cancelled()). */
  shouldStop: () => boolean;
  cancelled: () => boolean;
  onProgress: (p: Progress) => void;
  /** The message a failed run's record keeps; the worker recovers from a lost GPU here. */
  failure: (e: Error) => Promise<string>;
}

/** Starts or resumes a stored run; resolves with its final record (done, paused, cancelled or failed). */
export async function runStored(db: StudioDB, runId: string, hooks: RunHooks): Promise<RunRecord> {
  let run = await updateRun(db, runId, { status: 'running', error: undefined });
  try {
    await hooks.ready();
    const model = await loadModel(db, run.modelId);
    const inC = model.inputs[0].shape[3]!;
    const outC = model.outputs[0].shape[3]!;
    const { train, test } = await loadDataset(db, run.datasetId, run.spec, inC, outC);
    const checkpoints = new IndexedDBCheckpointStore(db, runId);
    try {
      const { student, report: result } = await runPipeline({
        spec: run.spec,
        model,
        train,
        test,
        store: checkpoints,
        backend: hooks.backend(),
        device: hooks.device,
        measureLatency: hooks.measureLatency(run.spec.latencyRuns),
        shouldStop: hooks.shouldStop,
        onProgress: (p) => {
          hooks.onProgress(p);
          if (p.step === p.steps || p.step % 10 === 0) void updateRun(db, runId, { stage: p.stage, step: p.step });
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
      const saved = await saveModel(db, student, { name: run.name, source: training ? 'trained' : 'student', inputRange: run.spec.inputRange });
      student.dispose();
      run = await updateRun(db, runId, { status: 'done', report: result ?? undefined, trained, samples, studentModelId: saved.id, stage: 'done' });
      await checkpoints.clear();
    } finally {
      model.dispose();
      train.dispose();
      test.dispose();
    }
  } catch (e) {
    const stopped = e instanceof PipelineStopped;
    if (stopped && hooks.cancelled()) {
      await new IndexedDBCheckpointStore(db, runId).clear();
      run = await updateRun(db, runId, { status: 'cancelled' });
    } else {
      if (!stopped) console.error('run failed', e);
      const error = stopped ? undefined : await hooks.failure(e as Error);
      run = await updateRun(db, runId, { status: stopped ? 'paused' : 'failed', error });
    }
  }
  return run;
}

/** Cancels a run that is not running: its checkpoints go, its record says cancelled. */
export async function discardCheckpoints(db: StudioDB, runId: string): Promise<void> {
  await new IndexedDBCheckpointStore(db, runId).clear();
  await updateRun(db, runId, { status: 'cancelled' });
}
