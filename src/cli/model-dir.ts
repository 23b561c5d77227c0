/** Reading and writing tfjs model folders on disk for the CLI (Node only). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { modelFilesIn, type ExportFormat } from '../core/io/formats';
import { loadModelFromFiles, ModelFileError, parseModelJson } from '../core/io/model-files';
import { fromOnnx } from '../core/io/onnx-import';

/** Loads a `.onnx` file, or `<dir>/model.json` or the given model.json path with its shards. */
export async function readModelDir(target: string): Promise<tf.LayersModel> {
  let file = target;
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) throw new ModelFileError(`Model file '${target}' does not exist`);
  if (stat.isFile() && target.toLowerCase().endsWith('.onnx')) {
    return fromOnnx(new Uint8Array(await fs.readFile(target)), path.basename(target, path.extname(target))).model;
  }
  if (stat.isDirectory()) file = path.join(target, 'model.json');
  const text = await fs.readFile(file, 'utf8').catch(() => {
    throw new ModelFileError(`Cannot read '${file}'`);
  });
  const { manifest } = parseModelJson(text, path.basename(file));
  const dir = path.dirname(file);
  const shards = new Map<string, Uint8Array>();
  for (const p of manifest.flatMap((g) => g.paths)) {
    const resolved = path.resolve(dir, p);
    if (path.relative(dir, resolved).startsWith('..')) {
      throw new ModelFileError(`Weight shard path '${p}' points outside the model folder`);
    }
    const bytes = await fs.readFile(resolved).catch(() => null);
    if (bytes) shards.set(p, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return loadModelFromFiles(text, shards, path.basename(file));
}

/** The info.json next to a model (what trained it: input range, training seconds, ...), or null. */
export async function readModelInfo(target: string): Promise<Record<string, unknown> | null> {
  const dir = (await fs.stat(target)).isDirectory() ? target : path.dirname(target);
  const text = await fs.readFile(path.join(dir, 'info.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`'${path.join(dir, 'info.json')}' is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The training wall time an info.json records, with the earlier training of a base whose training
 * was continued (`continuedFrom`, bench/train-presets.ts --init); null where none is recorded.
 */
export function trainedSeconds(info: Record<string, unknown> | null | undefined): number | null {
  if (!info || typeof info.seconds !== 'number' || !(info.seconds > 0)) return null;
  return info.seconds + (trainedSeconds(info.continuedFrom as Record<string, unknown> | undefined) ?? 0);
}

/** Refuses a non-empty `out` unless `force`; returns what is there (null: nothing). */
export async function checkOutDir(out: string, force: boolean): Promise<string[] | null> {
  const existing = await fs.readdir(out).catch(() => null);
  if (existing && existing.length > 0 && !force) {
    throw new Error(`Output folder '${out}' is not empty; choose another --out or pass --force to replace it`);
  }
  return existing;
}

export interface WriteOptions {
  force?: boolean;
  format?: ExportFormat;
  /** Value range of the model's images and the size it was made at, for the README. */
  inputRange?: string;
  size?: number;
}

/**
 * Writes a model folder in a format (default tfjs Layers) with its README.md, so that nothing
 * half-written is ever left at `out`: the files go to a temporary sibling folder that is renamed
 * into place at the end. An existing non-empty `out` is refused unless `force` is set.
 */
export async function writeModelDir(model: tf.LayersModel, out: string, extra: Record<string, string | Uint8Array> = {}, o: WriteOptions = {}): Promise<string[]> {
  const existing = await checkOutDir(out, Boolean(o.force));
  const files = await modelFilesIn(model, o.format ?? 'tfjs-layers', { inputRange: o.inputRange ?? '-1,1', size: o.size });
  const tmp = `${out.replace(/\/+$/, '')}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    for (const [name, bytes] of [...files, ...Object.entries(extra)]) await fs.writeFile(path.join(tmp, name), bytes);
    if (existing) await fs.rm(out, { recursive: true, force: true });
    await fs.rename(tmp, out);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return [...files.keys(), ...Object.keys(extra)];
}
