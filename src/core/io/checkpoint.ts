/**
 * Checkpoints: a JSON state plus named binary files (models in the standard tfjs format, tensors
 * such as optimizer state encoded with tf.io). Storage is injected: a folder in Node, IndexedDB in
 * the browser, memory in tests. A store must make `save` atomic: after a crash, `load` returns
 * either the new checkpoint or the previous one, never a mix.
 */
import * as tf from '@tensorflow/tfjs';
import { loadModelFromFiles, saveModelToFiles } from './model-files';

export type NamedTensor = { name: string; tensor: tf.Tensor };

export interface Checkpoint {
  state: Record<string, unknown>;
  /** File name -> bytes. Names must be unique per content: a store may skip rewriting a name. */
  files: Record<string, Uint8Array>;
}

export interface CheckpointStore {
  load(): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
}

export class MemoryCheckpointStore implements CheckpointStore {
  private last: Checkpoint | null = null;
  saves = 0;

  async load(): Promise<Checkpoint | null> {
    return this.last && { state: structuredClone(this.last.state), files: { ...this.last.files } };
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.last = { state: structuredClone(checkpoint.state), files: { ...checkpoint.files } };
    this.saves++;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A model as two checkpoint files: `<key>.model.json` and `<key>.weights.bin`. */
export async function modelToFiles(model: tf.LayersModel, key: string): Promise<Record<string, Uint8Array>> {
  const files = await saveModelToFiles(model);
  return {
    [`${key}.model.json`]: encoder.encode(files.modelJson),
    [`${key}.weights.bin`]: files.shards.get('weights.bin')!,
  };
}

export async function modelFromFiles(files: Record<string, Uint8Array>, key: string): Promise<tf.LayersModel> {
  const json = files[`${key}.model.json`];
  const weights = files[`${key}.weights.bin`];
  if (!json || !weights) throw new Error(`Checkpoint is missing the '${key}' model`);
  return loadModelFromFiles(decoder.decode(json), new Map([['weights.bin', weights]]), `${key}.model.json`);
}

/** Named tensors (optimizer state, adapters) as two files: specs JSON and the raw data. */
export async function tensorsToFiles(tensors: NamedTensor[], key: string): Promise<Record<string, Uint8Array>> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return {
    [`${key}.specs.json`]: encoder.encode(JSON.stringify(specs)),
    [`${key}.data.bin`]: new Uint8Array(data as ArrayBuffer),
  };
}

export function tensorsFromFiles(files: Record<string, Uint8Array>, key: string): NamedTensor[] {
  const specs = files[`${key}.specs.json`];
  const data = files[`${key}.data.bin`];
  if (!specs || !data) throw new Error(`Checkpoint is missing the '${key}' tensors`);
  const copy = data.slice().buffer;
  const map = tf.io.decodeWeights(copy, JSON.parse(decoder.decode(specs)));
  return Object.entries(map).map(([name, tensor]) => ({ name, tensor }));
}
