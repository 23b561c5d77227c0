import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromFiles, saveModelToFiles } from '../../src/core/io/model-files';

const BIN = path.resolve(__dirname, '../../bin/alap.js');
const work = mkdtempSync(path.join(tmpdir(), 'alap-compress-'));
const data = path.join(work, 'data');
const base = path.join(work, 'base');

function alap(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function loadDir(dir: string) {
  const files = new Map([['weights.bin', new Uint8Array(readFileSync(path.join(dir, 'weights.bin')))]]);
  return loadModelFromFiles(readFileSync(path.join(dir, 'model.json'), 'utf8'), files);
}

const COMMON = ['--size', '16', '--budget', 'macs=0.5', '--held-out', '2', '--checkpoint-every', '3'];

beforeAll(() => {
  tf.env().set('PROD', true);
  expect(alap('data', '--out', data, '--count', '10', '--size', '16').code).toBe(0);
  const r = alap('train', '--arch', 'resnet', '--ngf', '4', '--blocks', '1', '--size', '16', '--steps', '6', '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', base);
  expect(r.stderr).not.toMatch(/alap:/);
  expect(r.code).toBe(0);
});

describe('alap train / compress', () => {
  it('train writes a model and a held-out report', () => {
    const report = JSON.parse(readFileSync(path.join(base, 'report.json'), 'utf8'));
    expect(report.steps).toBe(6);
    expect(report.vsTargets.psnr).toBeGreaterThan(0);
    expect(report.latency.medianMs).toBeGreaterThan(0);
    expect(existsSync(`${base}.checkpoint`)).toBe(false);
  });

  it('compress writes a smaller model and a complete report', async () => {
    const out = path.join(work, 'small');
    const r = alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', out, '--steps', 'condense=4,distill=4', ...COMMON);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/condense +\[#+\] 4\/4/);
    expect(r.stdout).toMatch(/MACs: .* \([\d.]+x fewer\)/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    for (const key of ['macs', 'params', 'studentVsOriginal', 'vsTargets', 'latency', 'seconds', 'backend', 'device']) expect(report).toHaveProperty(key);
    expect(report.macs.after).toBeLessThanOrEqual(report.macs.before * 0.5);
    expect(Object.keys(report.seconds)).toEqual(expect.arrayContaining(['condense', 'prune', 'distill']));
    const student = await loadDir(out);
    expect(student.countParams()).toBe(report.params.after);
  });

  it('a process killed mid-run resumes with --resume to the same weights as an uninterrupted run', async () => {
    const args = (out: string) => ['compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', out, '--steps', 'condense=30,distill=30', ...COMMON];
    const straight = path.join(work, 'straight');
    expect(alap(...args(straight)).code).toBe(0);

    const killed = path.join(work, 'killed');
    const child = spawn(process.execPath, [BIN, ...args(killed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += String(d);
        // Kill hard once distillation is under way (checkpoints exist, more steps are unsaved).
        if (/distill +\[#+\.*\] (1[0-9]|2[0-9])\/30/.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(child.signalCode).toBe('SIGKILL');
    expect(existsSync(path.join(killed, 'model.json'))).toBe(false);
    const checkpoint = `${killed}.checkpoint`;
    expect(readdirSync(checkpoint)).toContain('checkpoint.json');

    const resumed = alap('compress', '--resume', checkpoint);
    expect(resumed.stderr).toMatch(/resuming from/);
    expect(resumed.code).toBe(0);
    const a = (await loadDir(straight)).getWeights().map((w) => w.dataSync());
    const b = (await loadDir(killed)).getWeights().map((w) => w.dataSync());
    let diff = 0;
    a.forEach((x, i) => x.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - b[i][j])))));
    expect(diff).toBeLessThan(1e-5);
    expect(existsSync(checkpoint)).toBe(false);
  });
});

describe('compress rejects bad input with one sentence', () => {
  const bad = (r: ReturnType<typeof alap>, message: RegExp) => {
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')[0]).toMatch(message);
  };
  const compressWith = (inputs: string, targets: string | null, out = path.join(work, `o-${Math.random().toString(36).slice(2)}`)) =>
    alap('compress', '--model', base, '--data', inputs, ...(targets ? ['--targets', targets] : []), '--out', out, '--steps', 'condense=2,distill=2', '--size', '16');

  it('a folder without images', () => {
    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'notes.txt'), 'not an image');
    bad(compressWith(empty, null), /^alap: Image folder '.*empty' has no PNG or JPEG images$/);
  });

  it('an unreadable image', () => {
    const dir = path.join(work, 'corrupt');
    mkdirSync(dir);
    for (const f of readdirSync(`${data}/inputs`).slice(0, 3)) copyFileSync(path.join(`${data}/inputs`, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    bad(compressWith(dir, null), /^alap: Image 'broken.png' could not be decoded/);
  });

  it('unmatched names between inputs and targets', () => {
    const dir = path.join(work, 'fewer');
    mkdirSync(dir);
    for (const f of readdirSync(`${data}/targets`).slice(0, 7)) copyFileSync(path.join(`${data}/targets`, f), path.join(dir, f));
    bad(compressWith(`${data}/inputs`, dir), /^alap: Inputs and targets are matched by file name; inputs without a target: shapes-0007.png, shapes-0008.png, shapes-0009.png$/);
  });

  it('a size mismatch within a pair', () => {
    const small = path.join(work, 'small-data');
    expect(alap('data', '--out', small, '--count', '10', '--size', '8').code).toBe(0);
    bad(compressWith(`${data}/inputs`, `${small}/targets`), /^alap: Input 'shapes-0000.png' is 16x16 but its target 'shapes-0000.png' is 8x8$/);
  });

  it('a run spec with unknown keys, and an unsupported model before any data is read', async () => {
    const specFile = path.join(work, 'run.json');
    writeFileSync(specFile, JSON.stringify({ size: 16, sparsty: 3 }));
    bad(alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', path.join(work, 'x'), '--spec', specFile), /^alap: Run spec '.*run.json' has unknown keys: sparsty$/);
    const dense = path.join(work, 'dense-model');
    mkdirSync(dense);
    const input = tf.input({ shape: [16, 16, 3] });
    const flat = tf.layers.flatten({ name: 'flat' }).apply(input) as tf.SymbolicTensor;
    const files = await saveModelToFiles(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor }));
    writeFileSync(path.join(dense, 'model.json'), files.modelJson);
    writeFileSync(path.join(dense, 'weights.bin'), files.shards.get('weights.bin')!);
    bad(alap('compress', '--model', dense, '--data', path.join(work, 'no-such-folder'), '--out', path.join(work, 'y')), /^alap: Layer 'flat' \(class Flatten\) is not supported/);
  });

  it('resuming from a folder without a checkpoint', () => {
    bad(alap('compress', '--resume', work), /^alap: No checkpoint in '.*' to resume$/);
  });
});
