/**
 * Reading and writing the studio's records: datasets as encoded PNG blobs, models as tfjs files,
 * runs. Used by the pipeline worker and the pages (browser only).
 */
import * as tf from '@tensorflow/tfjs';
import type { RawImage } from '../core/data/dataset';
import { defaultHeldOut } from '../core/data/split';
import { checkImageSize } from '../core/data/image-header';
import { loadModelFromFiles, saveModelToFiles } from '../core/io/model-files';
import { announceChange } from './changes';
import { newId, storageError, type DatasetRecord, type ImageRecord, type ModelRecord, type RunRecord, type StudioDB } from './db';

/** RGB(A) bytes -> PNG blob (OffscreenCanvas: works in workers and pages). */
export async function encodePngBlob(img: RawImage): Promise<Blob> {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = img.data[i * img.channels + Math.min(c, img.channels - 1)];
    rgba[i * 4 + 3] = img.channels === 4 ? img.data[i * 4 + 3] : 255;
  }
  const canvas = new OffscreenCanvas(img.width, img.height);
  canvas.getContext('2d', { willReadFrequently: true })!.putImageData(new ImageData(rgba, img.width, img.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** Any browser-decodable image blob -> RGBA bytes; the name appears in errors. */
export async function decodeBlob(blob: Blob, name: string): Promise<RawImage> {
  checkImageSize(new Uint8Array(await blob.slice(0, 64 * 1024).arrayBuffer()), name);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new Error(`'${name}' is not an image this browser can decode${blob.size === 0 ? ' (the file is empty)' : ''}`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  // A CPU-backed context: pixels are read back at once, and it stays clear of the GPU WebGPU uses.
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  bitmap.close();
  return { name, width: canvas.width, height: canvas.height, channels: 4, data: new Uint8Array(data.buffer) };
}

export type ImagePair = { name: string; input: Blob; target: Blob | null };

/** A new, empty dataset record (stored by the first `appendImages`). */
export function newDataset(name: string, kind: DatasetRecord['kind'], extra: Partial<DatasetRecord> = {}): DatasetRecord {
  return { id: newId('data'), name, kind, count: 0, createdAt: Date.now(), bytes: 0, complete: false, ...extra };
}

/**
 * Adds images after the ones stored and updates the record in the same transaction, so the
 * record never counts images that are not there (a generation cut off keeps what it wrote).
 */
export async function appendImages(db: StudioDB, record: DatasetRecord, pairs: ImagePair[], last: boolean): Promise<DatasetRecord> {
  const next: DatasetRecord = {
    ...record,
    count: record.count + pairs.length,
    bytes: record.bytes + pairs.reduce((s, p) => s + p.input.size + (p.target?.size ?? 0), 0),
    complete: last,
  };
  if (last) next.heldOut ??= defaultHeldOut(next.count);
  const tx = db.transaction(['datasets', 'images'], 'readwrite');
  try {
    await Promise.all([
      tx.objectStore('datasets').put(next),
      ...pairs.map((p, i) => tx.objectStore('images').put({ datasetId: record.id, index: record.count + i, name: p.name, input: p.input, target: p.target })),
    ]);
    await tx.done;
  } catch (e) {
    throw storageError(e, `the dataset '${record.name}'`);
  }
  announceChange('datasets');
  return next;
}

export function saveDataset(db: StudioDB, name: string, pairs: ImagePair[], extra: Partial<DatasetRecord> = {}): Promise<DatasetRecord> {
  return appendImages(db, newDataset(name, pairs.every((p) => p.target) ? 'paired' : 'unpaired', extra), pairs, true);
}

export async function loadImages(db: StudioDB, datasetId: string): Promise<ImageRecord[]> {
  return db.getAllFromIndex('images', 'byDataset', datasetId);
}

export async function saveModel(db: StudioDB, model: tf.LayersModel, meta: Pick<ModelRecord, 'name' | 'source' | 'inputRange' | 'preset'>): Promise<ModelRecord> {
  const files = await saveModelToFiles(model);
  const weights = files.shards.get('weights.bin')!;
  const record: ModelRecord = {
    id: newId('model'),
    ...meta,
    createdAt: Date.now(),
    modelJson: files.modelJson,
    weights: weights.slice().buffer,
    bytes: files.modelJson.length + weights.byteLength,
  };
  try {
    await db.put('models', record);
  } catch (e) {
    throw storageError(e, `the model '${meta.name}'`);
  }
  announceChange('models');
  return record;
}

export async function storedModel(db: StudioDB, id: string): Promise<ModelRecord> {
  const record = await db.get('models', id);
  if (!record) throw new Error(`Model ${id} is not in storage any more`);
  return record;
}

export function modelFromRecord(record: ModelRecord): Promise<tf.LayersModel> {
  return loadModelFromFiles(record.modelJson, new Map([['weights.bin', new Uint8Array(record.weights)]]), `${record.name}/model.json`);
}

export async function loadModel(db: StudioDB, id: string): Promise<tf.LayersModel> {
  return modelFromRecord(await storedModel(db, id));
}

export async function updateRun(db: StudioDB, id: string, patch: Partial<RunRecord>): Promise<RunRecord> {
  const tx = db.transaction('runs', 'readwrite');
  const run = await tx.store.get(id);
  if (!run) throw new Error(`Run ${id} is not in storage any more`);
  const next = { ...run, ...patch, updatedAt: Date.now() };
  await tx.store.put(next);
  await tx.done;
  announceChange('runs');
  return next;
}

/** Gives a run or a model the name the user chose (trimmed; an empty name is refused). */
export async function renameRecord(db: StudioDB, store: 'runs' | 'models', id: string, name: string): Promise<void> {
  const clean = name.trim();
  if (!clean) throw new Error('A name cannot be empty');
  const tx = db.transaction(store, 'readwrite');
  const record = await tx.store.get(id);
  if (!record) throw new Error(`That ${store === 'runs' ? 'run' : 'model'} is not in storage any more`);
  await tx.store.put({ ...record, name: clean });
  await tx.done;
  announceChange(store);
}
