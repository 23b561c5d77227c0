/**
 * The shipped base models (public/models/<task>/) as deployment downloads, so a person can take
 * one without running anything: public/models/<task>/export/<task>-tfjs-graph.zip (plain
 * tf.loadGraphModel) and <task>-onnx.zip (onnxruntime), float16 weights (the shipped weights are
 * float16 already: nothing is lost), each with a README.md. Re-run after retraining a base:
 *
 *   npx tsx bench/export-shipped.ts
 *
 * tests/unit/shipped-exports.test.ts checks the committed zips against the shipped models.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readModelDir, readModelInfo } from '../src/cli/model-dir';
import { modelZip } from '../src/core/io/formats';
import { PRESETS } from '../src/core/models/presets';
import { log } from './common';

await tf.setBackend('cpu');
for (const preset of Object.values(PRESETS)) {
  const dir = path.resolve('public', preset.modelDir);
  const model = await readModelDir(dir);
  const info = await readModelInfo(dir);
  const inputRange = typeof info?.inputRange === 'string' ? info.inputRange : '-1,1';
  mkdirSync(path.join(dir, 'export'), { recursive: true });
  for (const format of ['tfjs-graph', 'onnx'] as const) {
    const zip = await modelZip(model, format, { inputRange, size: preset.size, weights: 'float16' }, new Date('2026-01-01'));
    const out = path.join(dir, 'export', `${preset.task}-${format}.zip`);
    writeFileSync(out, zip);
    log(`${path.relative(process.cwd(), out)}: ${(zip.length / 1024).toFixed(0)} KiB`);
  }
  model.dispose();
}
