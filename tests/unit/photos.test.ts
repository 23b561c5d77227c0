import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { cartoonize } from '../../src/core/data/cartoon';
import type { RawImage } from '../../src/core/data/dataset';
import { augmentPhoto, centreSquare, resampleSquare } from '../../src/core/data/photo-augment';
import { weightMovement } from '../../src/core/measure/movement';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { Rng } from '../../src/core/train/rng';
import { fastestBatch, stepsForTime } from '../../src/core/train/run-size';
import { encodePng } from '../../src/cli/images';

const BIN = path.resolve(__dirname, '../../bin/alap.js');
const work = mkdtempSync(path.join(tmpdir(), 'alap-photos-'));
const alap = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A "photo": smooth colour gradients with a few sharp-edged shapes, w x h RGBA. */
function photo(name: string, w: number, h: number, seed: number): RawImage {
  const rng = new Rng(seed);
  const shapes = Array.from({ length: 5 }, () => ({ x: rng.range(0, w), y: rng.range(0, h), r: rng.range(10, w / 4), c: [rng.int(256), rng.int(256), rng.int(256)] }));
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = shapes.find((q) => (x - q.x) ** 2 + (y - q.y) ** 2 < q.r ** 2);
      const c = s ? s.c : [(x * 255) / w, (y * 255) / h, 128];
      data.set([...c.map(Math.round), 255], (y * w + x) * 4);
    }
  }
  return { name, width: w, height: h, channels: 4, data };
}

const readPng = (file: string) => PNG.sync.read(readFileSync(file));

beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
});

describe('photo augmentation', () => {
  it('shrinks with a box filter: a 1-pixel checkerboard becomes flat grey, not aliased', () => {
    const data = new Uint8Array(64 * 64 * 3).map((_, i) => ((Math.floor(i / 3) % 64) + Math.floor(i / 3 / 64)) % 2 ? 255 : 0);
    const out = resampleSquare({ name: 'c', width: 64, height: 64, channels: 3, data }, 0, 0, 64, 16);
    for (const v of out) expect(Math.abs(v - 127.5)).toBeLessThanOrEqual(0.5);
  });

  it('centreSquare takes the middle of a landscape photo', () => {
    const img = photo('p', 120, 60, 1);
    const sq = centreSquare(img, 60);
    expect([sq.width, sq.height, sq.channels]).toEqual([60, 60, 3]);
    expect([...sq.data.slice(0, 3)]).toEqual([...img.data.slice(30 * 4, 30 * 4 + 3)]);
  });

  it('views are seeded, sized and varied (crop, flip, light, blur, noise)', () => {
    const img = photo('p', 200, 150, 2);
    const a = augmentPhoto(img, 32, new Rng(5));
    const b = augmentPhoto(img, 32, new Rng(5));
    expect(a.data).toEqual(b.data);
    expect([a.width, a.height, a.channels, a.data.length]).toEqual([32, 32, 3, 32 * 32 * 3]);
    const rng = new Rng(9);
    const views = Array.from({ length: 12 }, () => augmentPhoto(img, 32, rng));
    const means = views.map((v) => v.data.reduce((s, x) => s + x, 0) / v.data.length);
    expect(new Set(views.map((v) => Buffer.from(v.data).toString('base64'))).size).toBe(12);
    expect(Math.max(...means) - Math.min(...means)).toBeGreaterThan(10);
  });
});

describe('training time and batch', () => {
  it('fastestBatch takes the most images per second, a larger batch only when clearly faster', async () => {
    const speeds: Record<number, number> = { 1: 5, 2: 8, 4: 10, 8: 10.3, 16: 7 };
    const calls: number[] = [];
    const choice = await fastestBatch([8, 1, 16, 2, 4], async (b) => (calls.push(b), speeds[b]));
    expect(calls).toEqual([1, 2, 4, 8, 16]);
    expect(choice.batch).toBe(4); // 8 is only 3% faster
    expect(choice.table).toHaveLength(5);
    expect((await fastestBatch([4, 8], async (b) => ({ 4: 10, 8: 11 })[b]!)).batch).toBe(8);
  });

  it('stepsForTime keeps a reserve and refuses a non-positive budget', () => {
    expect(stepsForTime(100, 2)).toBe(190);
    expect(stepsForTime(0.1, 0.5)).toBe(1);
    expect(() => stepsForTime(0, 1)).toThrow('positive number of seconds');
  });
});

describe('weight movement', () => {
  it('is zero against the same seed and names exactly the layer that changed', async () => {
    const spec = defaultSpec('resnet', { ngf: 4, depth: 1, size: 16, seed: 7 });
    const [a, b] = [buildGenerator(spec), buildGenerator(spec)];
    expect((await weightMovement(a, b)).every((m) => m.relative === 0)).toBe(true);
    const conv = b.layers.find((l) => l.getClassName() === 'Conv2D')!;
    conv.setWeights(conv.getWeights().map((w) => tf.mul(w, 1.5)));
    const moved = (await weightMovement(a, b)).filter((m) => m.relative > 0);
    expect(moved.map((m) => m.layer)).toEqual([conv.name]);
    expect(moved[0].relative).toBeCloseTo(0.5, 4);
  });
});

describe('alap data --from, alap run, alap train --time', () => {
  const photos = path.join(work, 'photos');
  beforeAll(() => {
    mkdirSync(photos, { recursive: true });
    for (const [i, [w, h]] of [[90, 60], [50, 80], [64, 64]].entries()) {
      const p = photo(`p${i}`, w, h, i + 10);
      writeFileSync(path.join(photos, `photo-${i}.png`), encodePng(w, h, 4, p.data));
    }
    writeFileSync(path.join(photos, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]));
  });

  it('data --from writes centre-cropped photos and their cartoon-filter targets with matching names; an undecodable file is named and left out', () => {
    const out = path.join(work, 'cartoon-data');
    const r = alap('data', '--task', 'face-to-cartoon', '--from', photos, '--out', out, '--size', '32');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/left out: Image 'broken\.jpg' could not be decoded/);
    expect(readdirSync(path.join(out, 'inputs')).sort()).toEqual(['photo-0.png', 'photo-1.png', 'photo-2.png']);
    expect(readdirSync(path.join(out, 'targets')).sort()).toEqual(['photo-0.png', 'photo-1.png', 'photo-2.png']);
    const input = readPng(path.join(out, 'inputs', 'photo-0.png'));
    const target = readPng(path.join(out, 'targets', 'photo-0.png'));
    expect([input.width, input.height, target.width, target.height]).toEqual([32, 32, 32, 32]);
    // The target is exactly the filter applied to the stored input.
    const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => input.data[Math.floor(i / 3) * 4 + (i % 3)]);
    const expected = cartoonize({ name: 'x', width: 32, height: 32, channels: 3, data: rgb }).data;
    expect(new Uint8Array(32 * 32 * 3).map((_, i) => target.data[Math.floor(i / 3) * 4 + (i % 3)])).toEqual(expected);
  });

  it('data --from is only for the cartoon task, and never leaves a half-written folder', () => {
    const out = path.join(work, 'wrong-task');
    const r = alap('data', '--task', 'mask-to-face', '--from', photos, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--from makes targets with the cartoon filter: use it with --task face-to-cartoon/);
    expect(() => readdirSync(out)).toThrow();
  });

  it('train --time --batch auto measures throughput, sizes the run and reports how far each layer moved; run writes one output per image', () => {
    const data = path.join(work, 'cartoon-data');
    const model = path.join(work, 'timed');
    const r = alap('train', '--arch', 'resnet', '--ngf', '4', '--blocks', '1', '--size', '16', '--time', '5', '--batch', 'auto', '--held-out', '1', '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', model);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    const throughput = /training throughput: (.*); using batch (\d+)/.exec(r.stderr)!;
    expect(throughput[1].match(/batch \d+ [\d.]+ images\/s/g)).toHaveLength(5);
    const [, steps, batch] = /time budget 5s: (\d+) steps of batch (\d+)/.exec(r.stderr)!;
    const report = JSON.parse(readFileSync(path.join(model, 'report.json'), 'utf8'));
    expect([report.steps, report.batchSize]).toEqual([Number(steps), Number(batch)]);
    expect(batch).toBe(throughput[2]);
    // Every layer with weights moved away from its initial values.
    expect(report.weightMovement.length).toBeGreaterThan(5);
    for (const m of report.weightMovement) expect(m.relative).toBeGreaterThan(0);

    const outputs = path.join(work, 'outputs');
    const run = alap('run', model, '--data', `${data}/inputs`, '--out', outputs, '--size', '16');
    expect(run.code).toBe(0);
    expect(readdirSync(outputs).sort()).toEqual(['photo-0.png', 'photo-1.png', 'photo-2.png']);
    const out = readPng(path.join(outputs, 'photo-1.png'));
    expect([out.width, out.height]).toEqual([16, 16]);
    expect(alap('run', model, '--data', path.join(work, 'nowhere'), '--out', path.join(work, 'o2')).stderr).toMatch(/Image folder '.*nowhere' does not exist/);
  });
});
