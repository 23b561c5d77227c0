/**
 * Standard tfjs Layers model files (model.json + weight shards) to and from memory, with the
 * checks an untrusted upload needs before anything is allocated: well-formed JSON, every listed
 * shard present, shard bytes matching the manifest. The CLI reads files from disk and the browser
 * from a file picker; both pass the bytes here.
 */
import * as tf from '@tensorflow/tfjs';
import '../models/layers';

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export type FileBytes = Uint8Array | ArrayBuffer;

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Imported files are untrusted: nothing larger is read or allocated. */
export const MAX_MODEL_BYTES = 1 << 30;
export const MAX_MODEL_JSON_CHARS = 64 << 20;

function entryBytes(e: tf.io.WeightsManifestEntry): number {
  if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ModelFileError(`Weight '${e.name}' has an invalid shape ${JSON.stringify(e.shape)}`);
  }
  const n = e.shape.reduce((p, d) => p * d, 1);
  const dtype = e.quantization?.dtype ?? e.dtype;
  const size = BYTES[dtype];
  if (size === undefined) throw new ModelFileError(`Weight '${e.name}' has unsupported dtype '${dtype}'`);
  return n * size;
}

/** The byte arrays one after another in a new array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

function toBytes(b: FileBytes): Uint8Array {
  return b instanceof Uint8Array ? b : new Uint8Array(b);
}

/** Parses and checks model.json; returns the topology and manifest. */
export function parseModelJson(text: string, fileName = 'model.json'): { modelTopology: object; manifest: ManifestGroup[] } {
  if (text.length > MAX_MODEL_JSON_CHARS) throw new ModelFileError(`${fileName} is ${(text.length / 2 ** 20).toFixed(0)} MB; a model.json over ${MAX_MODEL_JSON_CHARS / 2 ** 20} MB is refused`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${fileName} is not valid JSON (${(e as Error).message})`);
  }
  if (json && (json as { format?: string }).format === 'graph-model') {
    throw new ModelFileError(`${fileName} is a tfjs graph model; only Layers models (format 'layers-model') can be compressed`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || typeof json.modelTopology !== 'object') {
    throw new ModelFileError(`${fileName} has no 'modelTopology': it is not a TensorFlow.js Layers model`);
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))) {
    throw new ModelFileError(`${fileName} has no valid 'weightsManifest' (a list of {paths, weights})`);
  }
  return { modelTopology: json.modelTopology as object, manifest: manifest as ManifestGroup[] };
}

/**
 * Loads a Layers model from its files. `files` maps each shard path (as written in model.json) to
 * its bytes.
 */
export async function loadModelFromFiles(
  modelJsonText: string,
  files: ReadonlyMap<string, FileBytes>,
  fileName = 'model.json',
): Promise<tf.LayersModel> {
  const { modelTopology, manifest } = parseModelJson(modelJsonText, fileName);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const declared = manifest.reduce((s, g) => s + g.weights.reduce((t, e) => t + entryBytes(e), 0), 0);
  if (declared > MAX_MODEL_BYTES) throw new ModelFileError(`${fileName} declares ${(declared / 2 ** 30).toFixed(2)} GiB of weights; models over ${MAX_MODEL_BYTES / 2 ** 30} GiB are refused`);
  for (const group of manifest) {
    const expected = group.weights.reduce((s, e) => s + entryBytes(e), 0);
    let got = 0;
    for (const path of group.paths) {
      const bytes = files.get(path);
      if (!bytes) throw new ModelFileError(`Weight shard '${path}' listed in ${fileName} is missing`);
      const b = toBytes(bytes);
      parts.push(b);
      got += b.byteLength;
    }
    if (got !== expected) {
      const what = got < expected ? `${expected - got} bytes short` : `${got - expected} bytes too long`;
      throw new ModelFileError(`Weight shards ${group.paths.join(', ')} are ${what} of what ${fileName} declares (${expected} bytes)`);
    }
    weightSpecs.push(...group.weights);
  }
  const weightData = concatBytes(parts);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData: weightData.buffer }));
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown layer: (\w+)/.exec(msg);
    if (unknown) {
      throw new ModelFileError(`${fileName} uses layer class '${unknown[1]}', which this studio cannot build (a custom layer it does not know)`);
    }
    throw new ModelFileError(`${fileName} could not be built into a model: ${msg}`);
  }
}

export interface ModelFiles {
  /** model.json text. */
  modelJson: string;
  /** Shard file name -> bytes. */
  shards: Map<string, Uint8Array>;
}

/** Serialises a model to the standard files (one weight shard, 'weights.bin'). */
export async function saveModelToFiles(model: tf.LayersModel, shardName = 'weights.bin'): Promise<ModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const data = a.weightData instanceof ArrayBuffer ? new Uint8Array(a.weightData) : new Uint8Array(tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]));
  const modelJson = JSON.stringify({
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: 'alap-studio',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [shardName], weights: a.weightSpecs }],
  });
  return { modelJson, shards: new Map([[shardName, data]]) };
}

/** One file of a model folder served over HTTP (a shipped preset); the label names it in errors. */
/** An independent copy of a model (same topology and weights), through its files. */
export async function cloneModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  const files = await saveModelToFiles(model);
  return loadModelFromFiles(files.modelJson, files.shards);
}

export async function fetchModelFile(folderUrl: string, name: string, label: string): Promise<ArrayBuffer> {
  const response = await fetch(new URL(name, folderUrl));
  if (!response.ok) throw new ModelFileError(`Could not read ${label} (${name}: HTTP ${response.status})`);
  return response.arrayBuffer();
}

/** model.json + weights.bin from a folder URL, checked and built like any imported model. */
export async function fetchModel(folderUrl: string, label: string): Promise<tf.LayersModel> {
  const [json, weights] = await Promise.all(['model.json', 'weights.bin'].map((f) => fetchModelFile(folderUrl, f, label)));
  return loadModelFromFiles(new TextDecoder().decode(json), new Map([['weights.bin', new Uint8Array(weights)]]), `${label}/model.json`);
}
