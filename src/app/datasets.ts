/**
 * Datasets of the studio: generated for a built-in task, captured from the webcam, imported from
 * the user's files (paired by name, side by side, label maps, photos through the cartoon filter),
 * and read back for training. The app layer: the pipeline worker calls these; IndexedDB is written
 * here and in the other src/app modules, through src/store.
 */
import { trainingSets, type RawImage } from '../core/data/dataset';
import { defaultHeldOut } from '../core/data/split';
import { cartoonize } from '../core/data/cartoon';
import { centreSquare } from '../core/data/photo-augment';
import { pairByName, splitSideBySide, uniqueByName, type Duplicate } from '../core/data/pairing';
import { colourLabelMap } from '../core/data/labels';
import { taskItems, taskKind, type TaskName } from '../core/data/tasks';
import type { DatasetRecord, RunRecord, StudioDB } from '../store/db';
import { appendImages, decodeBlob, encodePngBlob, loadImages, newDataset, saveDataset, type ImagePair } from '../store/records';

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

/** Decoded images of a dataset, split as the dataset says (the last `heldOut` for evaluation). */
export async function loadDataset(db: StudioDB, datasetId: string, spec: Pick<RunRecord['spec'], 'size' | 'jitter' | 'inputRange'>, inChannels: number, outChannels: number) {
  const record = await db.get('datasets', datasetId);
  if (!record) throw new Error('That dataset is not in storage any more');
  const records = await loadImages(db, datasetId);
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

/**
 * A built-in task's data, generated and stored in chunks of CHUNK images (progress after each):
 * one paired dataset, or for the unpaired task two datasets, domain B then domain A (returned).
 */
export async function createDemoDataset(db: StudioDB, task: TaskName, count: number, size: number, onProgress?: (done: number, total: number) => void, seed = 1): Promise<DatasetRecord> {
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
      b = await appendImages(db, b, await Promise.all(chunk.map(([, y]) => png(y, null))), last);
      a = await appendImages(db, a, await Promise.all(chunk.map(([x]) => png(x, null))), last);
    } else {
      a = await appendImages(db, a, await Promise.all(chunk.map(([x, y]) => png(x, y))), last);
    }
    onProgress?.(done, count);
  }
  return a;
}

/** Webcam frames (square RGBA) as a face -> cartoon dataset: each frame with its cartoon. */
export async function createCaptureDataset(db: StudioDB, frames: RawImage[]): Promise<DatasetRecord> {
  if (frames.length < 2) throw new Error('Capture at least 2 frames (one is held out for evaluation)');
  const pairs = await Promise.all(frames.map(async (f) => ({ name: `${f.name}.png`, input: await encodePngBlob(f), target: await encodePngBlob(cartoonize(f)) })));
  return saveDataset(db, `Webcam -> cartoon (${frames.length} x ${frames[0].width}px, ${new Date().toLocaleString()})`, pairs, { size: frames[0].width });
}

/**
 * Imports images into a dataset. Every file is decoded first: unusable ones are listed with the
 * reason and left out, the rest are stored (nothing is stored if none is usable).
 */
export async function importDataset(db: StudioDB, name: string, files: ImportFiles): Promise<{ dataset: DatasetRecord | null; errors: string[] }> {
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
  return { dataset: await saveDataset(db, name, pairs), errors };
}
