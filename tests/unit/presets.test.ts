/**
 * The base models shipped in public/models (trained by bench/train-presets.ts): each loads with
 * tfjs, runs at its size, is the size its info.json states, and for paired tasks reproduces its
 * stated held-out quality (within 3 dB) on freshly generated data of the same task.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { ImageDataset } from '../../src/core/data/dataset';
import { generateTask, type TaskName } from '../../src/core/data/tasks';
import { loadModelFromFiles } from '../../src/core/io/model-files';
import { predictAll, quality } from '../../src/core/measure/quality';

const ROOT = path.resolve(__dirname, '../../public/models');
const presets = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => statSync(path.join(ROOT, d)).isDirectory()) : [];

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('shipped base models', () => {
  it('exist for the three paper tasks', () => {
    expect(presets.sort()).toEqual(['face-to-cartoon', 'mask-to-face', 'unpaired']);
  });

  it.each(presets)('%s loads, runs and matches its info.json', async (task) => {
    const dir = path.join(ROOT, task);
    const info = JSON.parse(readFileSync(path.join(dir, 'info.json'), 'utf8'));
    const json = readFileSync(path.join(dir, 'model.json'), 'utf8');
    const weights = new Uint8Array(readFileSync(path.join(dir, 'weights.bin')));
    expect(json.length + weights.byteLength).toBe(info.bytes);
    const model = await loadModelFromFiles(json, new Map([['weights.bin', weights]]));
    const data = generateTask(task as TaskName, 16, info.size, 999);
    const ds = ImageDataset.fromImages(data.inputs, data.targets, info.size, '-1,1');
    const out = predictAll(model, ds.inputs);
    expect(out.shape).toEqual([16, info.size, info.size, 3]);
    if (data.kind === 'paired') {
      const q = await quality(out, ds.targets!, 2);
      expect(q.psnr).toBeGreaterThan(info.heldOut.psnr - 3);
    }
    tf.dispose([out]);
    ds.dispose();
  });
});
