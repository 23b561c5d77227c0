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
import { modelCost } from '../../src/core/measure/cost';
import { readChannelGraph } from '../../src/core/graph/channel-graph';

const ROOT = path.resolve(__dirname, '../../public/models');
const presets = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => statSync(path.join(ROOT, d)).isDirectory()) : [];

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('shipped base models', () => {
  it('exist for the three paper tasks (and real-time students of them)', () => {
    expect(presets.filter((p) => !p.endsWith('-realtime')).sort()).toEqual(['face-to-cartoon', 'mask-to-face', 'unpaired']);
    for (const p of presets.filter((p) => p.endsWith('-realtime'))) expect(presets).toContain(p.replace(/-realtime$/, ''));
  });

  it.each(presets.filter((p) => p.endsWith('-realtime')))('%s is a student of its base with the MACs and quality its info.json states', async (dir) => {
    const info = JSON.parse(readFileSync(path.join(ROOT, dir, 'info.json'), 'utf8'));
    const load = (d: string) => loadModelFromFiles(readFileSync(path.join(ROOT, d, 'model.json'), 'utf8'), new Map([['weights.bin', new Uint8Array(readFileSync(path.join(ROOT, d, 'weights.bin')))]]));
    const [student, base] = [await load(dir), await load(info.base.replace(/^models\//, ''))];
    const size: [number, number] = [info.macs.at, info.macs.at];
    expect(modelCost(readChannelGraph(student), size).macs).toBe(info.macs.student);
    expect(modelCost(readChannelGraph(base), size).macs).toBe(info.macs.base);
    expect(info.macs.student).toBeLessThan(info.macs.base);
    const data = generateTask(info.task as TaskName, 16, info.size, 999);
    const ds = ImageDataset.fromImages(data.inputs, data.targets, info.size, '-1,1');
    const [out, baseOut] = [predictAll(student, ds.inputs), predictAll(base, ds.inputs)];
    expect((await quality(out, baseOut, 2)).psnr).toBeGreaterThan(info.vsBase.psnr - 3);
    // Unpaired (day -> night) has no target that belongs to an input.
    if (data.kind === 'paired') expect((await quality(out, ds.targets!, 2)).psnr).toBeGreaterThan(info.heldOut.psnr - 3);
    tf.dispose([out, baseOut]);
    [ds, student, base].forEach((x) => x.dispose());
  });

  it.each(presets.filter((p) => !p.endsWith('-realtime')))('%s loads, runs and matches its info.json', async (task) => {
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

  it('face -> cartoon sees brightness and contrast: a darker, flatter photo gets a different cartoon, as from the filter', async () => {
    // An instance norm right after the first convolution removes any global gain and offset of the
    // input, so the earlier base drew the same cartoon for x and 0.5x - 0.3 (to 1e-5).
    const dir = path.join(ROOT, 'face-to-cartoon');
    const model = await loadModelFromFiles(readFileSync(path.join(dir, 'model.json'), 'utf8'), new Map([['weights.bin', new Uint8Array(readFileSync(path.join(dir, 'weights.bin')))]]));
    const data = generateTask('face-to-cartoon', 4, 64, 5);
    const x = ImageDataset.fromImages(data.inputs, null, 64, '-1,1').inputs;
    const change = tf.tidy(() => tf.mean(tf.abs(tf.sub(model.predict(x) as tf.Tensor, model.predict(tf.sub(tf.mul(x, 0.5), 0.3)) as tf.Tensor))));
    expect((await change.data())[0]).toBeGreaterThan(0.05);
    tf.dispose([x, change]);
    model.dispose();
  });
});
