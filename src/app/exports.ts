/**
 * Downloads of stored models: the files at each precision with what each costs in PSNR, a .zip in
 * a deployment format with a README, or model.json + weights.bin. The app layer (see datasets.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { rangeWidth } from '../core/data/dataset';
import { loadModelFromFiles, saveModelToFiles } from '../core/io/model-files';
import { PRECISIONS, quantizeModelFiles, type Precision } from '../core/io/quantize';
import { modelZip, type ExportFormat } from '../core/io/formats';
import { predictAll, psnr } from '../core/measure/quality';
import type { StudioDB } from '../store/db';
import { loadModel, modelFromRecord, storedModel } from '../store/records';
import { loadDataset } from './datasets';

/**
 * The model's files at each precision with their size and the PSNR they cost against float32
 * on up to 8 images of a dataset (what the user sees before choosing a download).
 */
export async function compareExports(db: StudioDB, modelId: string, datasetId: string, size: number): Promise<{ precision: Precision; bytes: number; psnr: number }[]> {
  const record = await storedModel(db, modelId);
  const model = await modelFromRecord(record);
  const files = await saveModelToFiles(model);
  const { train, test } = await loadDataset(db, datasetId, { size, jitter: 0, inputRange: record.inputRange }, model.inputs[0].shape[3]!, model.outputs[0].shape[3]!);
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
}

/**
 * The model as a .zip in a deployment format, with a README.md showing how to load and run it
 * (bytes: the worker transfers them to the page).
 */
export async function exportZip(db: StudioDB, modelId: string, format: ExportFormat, size?: number): Promise<Uint8Array> {
  const record = await storedModel(db, modelId);
  const model = await modelFromRecord(record);
  try {
    return await modelZip(model, format, { inputRange: record.inputRange, size });
  } finally {
    model.dispose();
  }
}

/** model.json text and weights.bin bytes at a precision. */
export async function exportFiles(db: StudioDB, modelId: string, precision: Precision): Promise<{ modelJson: string; weights: ArrayBuffer }> {
  const model = await loadModel(db, modelId);
  const q = quantizeModelFiles(await saveModelToFiles(model), precision);
  model.dispose();
  const weights = q.shards.get('weights.bin')!.slice().buffer;
  return { modelJson: q.modelJson, weights };
}
