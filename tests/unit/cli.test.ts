import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelToFiles } from '../../src/core/io/model-files';

const BIN = path.resolve(__dirname, '../../bin/alap.js');
const work = mkdtempSync(path.join(tmpdir(), 'alap-cli-'));

function alap(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function writeModel(model: tf.LayersModel, dir: string) {
  const files = await saveModelToFiles(model);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), files.modelJson);
  for (const [name, bytes] of files.shards) writeFileSync(path.join(dir, name), bytes);
}

const tiny = path.join(work, 'tiny');

beforeAll(() => {
  tf.env().set('PROD', true);
  const r = alap('create', '--arch', 'resnet', '--ngf', '8', '--blocks', '2', '--size', '32', '--out', tiny);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe('alap inspect / prune / bench', () => {
  it('inspect --json reports layers, groups, MACs and params', () => {
    const r = alap('inspect', tiny, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.size).toEqual([32, 32]);
    expect(report.macs).toBe(report.layers.reduce((s: number, l: { macs: number }) => s + l.macs, 0));
    expect(report.macs).toBeGreaterThan(0);
    expect(report.prunableGroups).toBeGreaterThan(0);
    expect(report.layers.find((l: { name: string }) => l.name === 'head_conv').outShape).toEqual([32, 32, 3]);
  });

  it('inspect prints a table with the total', () => {
    const r = alap('inspect', path.join(tiny, 'model.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/block1_conv1\s+Conv2D\s+8x8x32/);
    expect(r.stdout).toMatch(/^total: .*MACs \(\d+\), .* params \(\d+\)$/m);
  });

  it('prune to 25% MACs writes a loadable model that is smaller, with before/after figures', async () => {
    const out = path.join(work, 'pruned');
    const r = alap('prune', tiny, '--budget', 'macs=0.25', '--out', out, '--runs', '3');
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MACs: .* -> .* \([\d.]+x fewer\)/);
    expect(r.stdout).toMatch(/measured speed-up: [\d.]+x/);
    expect(readdirSync(out).sort()).toEqual(['README.md', 'model.json', 'prune-report.json', 'weights.bin']);
    const report = JSON.parse(readFileSync(path.join(out, 'prune-report.json'), 'utf8'));
    expect(report.after.macs).toBeLessThanOrEqual(report.before.macs * 0.25);
    expect(report.after.latency.runs).toBe(3);
    const inspected = JSON.parse(alap('inspect', out, '--json').stdout);
    expect(inspected.macs).toBe(report.after.macs);
  });

  it('bench prints latency figures on the chosen backend', () => {
    const r = alap('bench', tiny, '--runs', '3', '--backend', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backend: cpu/);
    expect(r.stderr).toContain('backend: cpu in node (--backend cpu)');
    expect(r.stdout).toMatch(/latency: median [\d.]+ ms, p95 [\d.]+ ms, [\d.]+ FPS \(3 runs\)/);
  });

  it('auto (the default) says which backend and why; an unknown one is refused', () => {
    const r = alap('bench', tiny, '--runs', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/backend: wasm \(SIMD, [^)]*\) in node \(auto: in Node only wasm and the plain-JavaScript cpu fallback run \(no WebGPU\); `alap backends` measures both\)/);
    const bad = alap('bench', tiny, '--backend', 'webgpu');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("alap: --backend must be auto, wasm or cpu in Node, got 'webgpu'");
  });

  it('backends prints the probe figures per backend and the choice for training and for a model', () => {
    const r = alap('backends', tiny);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^backend probe \(a ResNet generator, \d+ MMACs at 64 px, \d+ MMACs at 128 px\) in \d+ ms:$/);
    expect(lines[1]).toMatch(/^ {2}wasm {3}forward 64 px [\d.]+ ms · forward 128 px [\d.]+ ms · training step [\d.]+ ms · wasm \(SIMD/);
    expect(lines[2]).toMatch(/^ {2}cpu {4}forward 64 px [\d.]+ ms/);
    expect(lines[3]).toMatch(/^ {2}webgpu did not start: .*navigator\.gpu is missing/);
    expect(lines[4]).toMatch(/^training: (wasm|cpu) — fastest measured here: (wasm|cpu) [\d.,]+ ms per training step/);
    expect(lines[5]).toMatch(/^inference of .*tiny at 32x32: (wasm|cpu) — fastest predicted from the probe here: (wasm|cpu) [\d.,]+ ms per frame at 0\.\d\d GMACs/);
  });

  it('bench --layers prints a per-layer profile: every layer once, shares summing to 100%', () => {
    const r = alap('bench', tiny, '--runs', '2', '--layers');
    expect(r.code).toBe(0);
    const table = r.stdout.slice(r.stdout.indexOf('per layer'));
    const rows = table.split('\n').slice(2).filter((l) => /%/.test(l));
    const inspected = JSON.parse(alap('inspect', tiny, '--json').stdout);
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual(inspected.layers.map((l: { name: string }) => l.name).filter((n: string) => !n.startsWith('input')).sort());
    const shares = rows.map((l) => Number(/([\d.]+)%/.exec(l)![1]));
    // Each share is printed rounded to 0.1%: the sum is 100 within half a unit per row.
    expect(Math.abs(shares.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(0.05 * rows.length + 1e-9);
  });

  it('a size-free model needs --size, then works at that size', async () => {
    const r1 = alap('create', '--arch', 'unet', '--ngf', '4', '--blocks', '3', '--size', 'any', '--out', path.join(work, 'anysize'));
    expect(r1.code).toBe(0);
    const bad = alap('inspect', path.join(work, 'anysize'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/input size is not fixed .*\(--size N\)/);
    const good = alap('inspect', path.join(work, 'anysize'), '--size', '24', '--json');
    expect(JSON.parse(good.stdout).size).toEqual([24, 24]);
  });
});

describe('bad input exits 1 with one clear sentence and writes nothing', () => {
  const out = () => path.join(work, `never-${Math.random().toString(36).slice(2)}`);
  const expectFailure = (r: ReturnType<typeof alap>, message: RegExp, outDir?: string) => {
    expect(r.code).toBe(1);
    // Exactly one error line (a line saying which backend started may come before it).
    const errors = r.stderr.split('\n').filter((line) => line.startsWith('alap:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    if (outDir) expect(existsSync(outDir)).toBe(false);
  };

  it('missing model file', () => {
    const o = out();
    expectFailure(alap('prune', path.join(work, 'nope.json'), '--budget', 'macs=0.5', '--out', o), /^alap: Model file '.*nope.json' does not exist$/, o);
  });

  it('malformed JSON', () => {
    const dir = path.join(work, 'malformed');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": {');
    const o = out();
    expectFailure(alap('prune', dir, '--budget', 'macs=0.5', '--out', o), /^alap: model.json is not valid JSON/, o);
  });

  it('missing weight shard', async () => {
    const dir = path.join(work, 'noshard');
    await writeModel(tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 3, kernelSize: 3 })] }), dir);
    const shard = readdirSync(dir).find((f) => f.endsWith('.bin'))!;
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dir, shard));
    const o = out();
    expectFailure(alap('prune', dir, '--budget', 'macs=0.5', '--out', o), /^alap: Weight shard 'weights.bin' listed in model.json is missing$/, o);
  });

  it('short weight shard', async () => {
    const dir = path.join(work, 'short');
    await writeModel(tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 3, kernelSize: 3 })] }), dir);
    const shard = path.join(dir, 'weights.bin');
    truncateSync(shard, statSync(shard).size - 8);
    const o = out();
    expectFailure(alap('prune', dir, '--budget', 'macs=0.5', '--out', o), /^alap: Weight shards weights.bin are 8 bytes short of what model.json declares/, o);
  });

  it('unsupported layer names the layer and class', async () => {
    const dir = path.join(work, 'dense');
    const input = tf.input({ shape: [8, 8, 3] });
    const f = tf.layers.flatten({ name: 'flatten_it' }).apply(input) as tf.SymbolicTensor;
    await writeModel(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(f) as tf.SymbolicTensor }), dir);
    const o = out();
    expectFailure(alap('prune', dir, '--budget', 'macs=0.5', '--out', o), /^alap: Layer 'flatten_it' \(class Flatten\) is not supported\. Supported layers: /, o);
  });

  it('a layer class tfjs cannot build', () => {
    const dir = path.join(work, 'custom');
    mkdirSync(dir);
    const topology = JSON.parse(readFileSync(path.join(tiny, 'model.json'), 'utf8'));
    topology.modelTopology.config.layers[1].class_name = 'MyFancyPad';
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(topology));
    writeFileSync(path.join(dir, 'weights.bin'), readFileSync(path.join(tiny, 'weights.bin')));
    expectFailure(alap('inspect', dir), /^alap: model.json uses layer class 'MyFancyPad', which this studio cannot build/);
  });

  it('bad budget and unknown command', () => {
    expectFailure(alap('prune', tiny, '--budget', 'macs=2', '--out', out()), /^alap: A macs budget is the fraction to keep, in \(0, 1\]; got 2$/);
    expectFailure(alap('frobnicate'), /^alap: Unknown command 'frobnicate'$/);
  });

  it('refuses to overwrite a non-empty output folder', () => {
    const r = alap('create', '--arch', 'resnet', '--ngf', '4', '--blocks', '1', '--size', '32', '--out', tiny);
    expectFailure(r, /^alap: Output folder '.*tiny' is not empty; choose another --out or pass --force to replace it$/);
  });
});
