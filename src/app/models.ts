/**
 * Models of the studio: a preset's shipped base (stored once, with a dataset of its task), an
 * imported ONNX or tfjs model (refused before storing when the pruner cannot handle it), a fresh
 * zoo generator, and a stored model's MACs and prunable groups. The app layer (see datasets.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../core/graph/channel-graph';
import { modelCost } from '../core/measure/cost';
import { presetFor, type PresetTask } from '../core/models/presets';
import { buildGenerator, defaultSpec, type Arch } from '../core/models/zoo';
import { fetchModel, fetchModelFile, loadModelFromFiles } from '../core/io/model-files';
import { fromOnnx } from '../core/io/onnx-import';
import type { DatasetRecord, ModelRecord, StudioDB } from '../store/db';
import { loadModel, saveModel } from '../store/records';
import { createDemoDataset } from './datasets';

/**
 * A preset's shipped base model (fetched from `modelUrl`, the app's own copy of
 * public/models/<task>/) and a dataset of its task; both are reused when already stored.
 */
export async function loadPreset(db: StudioDB, task: PresetTask, modelUrl: string, count: number, onProgress?: (done: number, total: number) => void): Promise<{ model: ModelRecord; dataset: DatasetRecord }> {
  const preset = presetFor(task);
  let model = (await db.getAll('models')).find((m) => m.preset?.task === task);
  if (!model) {
    const label = `the shipped base model for '${preset.label}'`;
    const [loaded, info] = await Promise.all([fetchModel(modelUrl, label), fetchModelFile(modelUrl, 'info.json', label)]);
    try {
      model = await saveModel(db, loaded, { name: `${preset.label} base (shipped)`, source: 'preset', inputRange: '-1,1', preset: { task, info: JSON.parse(new TextDecoder().decode(info)) } });
    } finally {
      loaded.dispose();
    }
  }
  const existing = (await db.getAll('datasets')).find((d) => d.task === task && d.size === preset.size && d.count === count && d.complete !== false && !d.name.endsWith('domain B'));
  const dataset = existing ?? (await createDemoDataset(db, task, count, preset.size, onProgress));
  return { model, dataset };
}

/**
 * Imports a model: an ONNX file, or a tfjs Layers model from its files (model.json + weight
 * shards). The model is built and read into a channel graph before anything is stored, so an
 * unsupported one is refused with the node or layer that is the problem. An ONNX file exported by
 * alap carries its value range, which then wins over the one chosen.
 */
export async function importModel(db: StudioDB, files: { name: string; bytes: ArrayBuffer }[], inputRange: ModelRecord['inputRange']): Promise<ModelRecord> {
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
    return await saveModel(db, model, { name, source: 'import', inputRange: range });
  } finally {
    model.dispose();
  }
}

export async function createZooModel(db: StudioDB, arch: Arch, ngf: number, depth: number): Promise<ModelRecord> {
  const model = buildGenerator(defaultSpec(arch, { ngf, depth, size: null, inChannels: 3 }));
  try {
    return await saveModel(db, model, { name: `${arch} ngf=${ngf} depth=${depth}`, source: 'zoo', inputRange: '-1,1' });
  } finally {
    model.dispose();
  }
}

/** MACs and params of a stored model at a size, and whether the pruner can handle it. */
export async function describeModel(db: StudioDB, modelId: string, size: number) {
  const model = await loadModel(db, modelId);
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
}
