import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromFiles, saveModelToFiles } from '../../src/core/io/model-files';
import { proceduralFaces } from '../../src/core/data/faces';
import { decodeImage, encodePng } from '../../src/cli/images';

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

  it('a report carries the spec, seed and versions; --spec report.json runs it again to the same weights', () => {
    const first = path.join(work, 'reproduced-a');
    const r = alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', first, '--steps', 'condense=2,distill=3', '--seed', '7', '--batch', '2', ...COMMON);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(first, 'report.json'), 'utf8'));
    expect(report.spec).toMatchObject({ seed: 7, batchSize: 2, size: 16, budget: 'macs=0.5', steps: { condense: 2, distill: 3 } });
    expect(report.versions.alap).toBe(JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')).version);
    expect(report.versions.tfjs).toBe(tf.version.tfjs);
    // Only the data, model and output are given: everything else comes from the report.
    const again = path.join(work, 'reproduced-b');
    const r2 = alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', again, '--held-out', '2', '--spec', path.join(first, 'report.json'));
    expect(r2.stderr).not.toMatch(/alap:/);
    expect(r2.code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(again, 'report.json'), 'utf8')).spec).toEqual(report.spec);
    expect(Buffer.compare(readFileSync(path.join(first, 'weights.bin')), readFileSync(path.join(again, 'weights.bin')))).toBe(0);
  });

  it('a run spec file with wrong fields is refused, naming each of them', () => {
    const spec = path.join(work, 'bad-spec.json');
    writeFileSync(spec, JSON.stringify({ steps: { distill: -1 }, teacher: 'best', budgett: 'macs=0.5' }));
    const r = alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', path.join(work, 'never-bad-spec'), '--spec', spec);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`alap: Run spec '${spec}' is not a valid run spec: steps.distill must be at least 0 (got -1); teacher: must be one of condensed, original; unknown key 'budgett'`);
    expect(existsSync(path.join(work, 'never-bad-spec'))).toBe(false);
  });

  it('compress takes an ONNX model and writes ONNX with --format onnx (a README says how to run it)', () => {
    const onnxIn = path.join(work, 'base-onnx');
    expect(alap('convert', base, '--to', 'onnx', '--out', onnxIn).code).toBe(0);
    const out = path.join(work, 'small-onnx');
    const r = alap('compress', '--model', path.join(onnxIn, 'model.onnx'), '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', out, '--steps', 'condense=0,distill=2', '--format', 'onnx', ...COMMON);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['README.md', 'model.onnx', 'report.json', 'samples.png']);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.macs.after).toBeLessThanOrEqual(report.macs.before * 0.5);
    // What was written is what the report describes: read back, it has the student's parameters.
    const back = alap('inspect', path.join(out, 'model.onnx'), '--size', '16');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`params (${report.params.after})`);
    expect(alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', out, '--format', 'caffe', ...COMMON).stderr).toMatch(/--format must be one of tfjs-graph, tfjs-layers, onnx, got 'caffe'/);
  });

  it('--side-by-side BtoA takes pairs from AB images: the same run as the two folders', () => {
    // AB images with the target on the left: BtoA makes the right half the input.
    const ab = path.join(work, 'ab');
    mkdirSync(ab);
    for (const f of readdirSync(`${data}/inputs`)) {
      const [x, y] = [`${data}/inputs/${f}`, `${data}/targets/${f}`].map((file) => decodeImage(f, new Uint8Array(readFileSync(file))));
      const row = (img: typeof x, r: number) => img.data.subarray(r * img.width * img.channels, (r + 1) * img.width * img.channels);
      const both = new Uint8Array(x.height * x.width * 2 * x.channels);
      for (let r = 0; r < x.height; r++) {
        both.set(row(y, r), r * x.width * 2 * x.channels);
        both.set(row(x, r), (r * x.width * 2 + x.width) * x.channels);
      }
      writeFileSync(path.join(ab, f), encodePng(x.width * 2, x.height, x.channels, both));
    }
    const run = (out: string, ...data: string[]) => alap('compress', '--model', base, ...data, '--out', out, '--steps', 'distill=2', ...COMMON);
    const fromFolders = run(path.join(work, 'sbs-folders'), '--data', `${data}/inputs`, '--targets', `${data}/targets`);
    const fromAB = run(path.join(work, 'sbs-ab'), '--data', ab, '--side-by-side', 'BtoA');
    expect(fromAB.stderr).not.toMatch(/alap:/);
    expect(fromAB.code).toBe(0);
    expect(fromFolders.code).toBe(0);
    const report = (dir: string) => JSON.parse(readFileSync(path.join(work, dir, 'report.json'), 'utf8'));
    expect(report('sbs-ab').vsTargets).toEqual(report('sbs-folders').vsTargets);
    expect(readFileSync(path.join(work, 'sbs-ab', 'weights.bin')).equals(readFileSync(path.join(work, 'sbs-folders', 'weights.bin')))).toBe(true);
  });

  it("without --steps, a model whose info.json records its training time (a continued training's earlier run included) gets 1.5x that as its time budget", () => {
    const trained = path.join(work, 'base-with-info');
    mkdirSync(trained, { recursive: true });
    for (const f of ['model.json', 'weights.bin']) copyFileSync(path.join(base, f), path.join(trained, f));
    writeFileSync(path.join(trained, 'info.json'), JSON.stringify({ seconds: 3, continuedFrom: { seconds: 1 } }));
    const out = path.join(work, 'timed');
    const r = alap('compress', '--model', trained, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', out, ...COMMON);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/time budget: 1\.5x the base model's training time \(4s in its info\.json\) = 6s/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.distillSteps).toBeGreaterThanOrEqual(1);
    expect(report.selection).toBe('importance');
    expect(report.compensation.layers).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/compensation: \d+ convolutions refitted/);
  });

  it('--selection magnitude --compensate no --teacher-cache 0: the previous recipe, and bad values are refused', () => {
    const out = path.join(work, 'previous');
    const r = alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--out', out, '--steps', 'distill=2', '--selection', 'magnitude', '--compensate', 'no', '--teacher-cache', '0', ...COMMON);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.selection).toBe('magnitude');
    expect(report.compensation).toBeUndefined();
    const bad = alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', path.join(work, 'bad'), '--selection', 'random', ...COMMON);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--selection must be importance or magnitude, got 'random'/);
    const badLoss = alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', path.join(work, 'bad'), '--pixel-loss', 'huber', ...COMMON);
    expect(badLoss.code).not.toBe(0);
    expect(badLoss.stderr).toMatch(/--pixel-loss must be l1 or mse, got 'huber'/);
    const badMultiple = alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', path.join(work, 'bad'), '--selection', 'magnitude', '--channel-multiple', '8', ...COMMON);
    expect(badMultiple.code).not.toBe(0);
    expect(badMultiple.stderr).toMatch(/a channelMultiple above 1 needs selection importance/);
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
        // Kill hard as soon as distillation is under way (condensation is checkpointed, most
        // distillation steps are still to come, so a slow test process cannot miss the moment).
        if (/distill +\[/.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
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
    // Exactly one error line (a line saying which backend started may come before it).
    const errors = r.stderr.split('\n').filter((line) => line.startsWith('alap:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
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

  it('a name repeated with another extension, with targets, alone or side by side (samples and outputs are named by it)', () => {
    const dir = path.join(work, 'twice');
    mkdirSync(dir);
    for (const f of readdirSync(`${data}/inputs`)) copyFileSync(path.join(`${data}/inputs`, f), path.join(dir, f));
    copyFileSync(path.join(`${data}/inputs`, 'shapes-0001.png'), path.join(dir, 'shapes-0001.jpg'));
    const refused = /^alap: Image folder '.*twice' has files with the same name apart from the extension \(shapes-0001\.jpg and shapes-0001\.png\): rename or remove one of each$/;
    bad(compressWith(dir, `${data}/targets`), refused);
    bad(compressWith(dir, null), refused);
    bad(alap('compress', '--model', base, '--data', dir, '--side-by-side', 'AtoB', '--out', path.join(work, 'twice-sbs')), refused);
  });

  it('--side-by-side with --targets, or a direction that is not AtoB or BtoA', () => {
    bad(alap('compress', '--model', base, '--data', `${data}/inputs`, '--targets', `${data}/targets`, '--side-by-side', 'AtoB', '--out', path.join(work, 'sbs-bad')), /^alap: --side-by-side takes inputs and targets from the --data images themselves: leave out --targets$/);
    bad(alap('compress', '--model', base, '--data', `${data}/inputs`, '--side-by-side', 'left', '--out', path.join(work, 'sbs-bad2')), /^alap: --side-by-side must be AtoB or BtoA, got 'left'$/);
  });

  it('a size mismatch within a pair', () => {
    const small = path.join(work, 'small-data');
    expect(alap('data', '--out', small, '--count', '10', '--size', '8').code).toBe(0);
    bad(compressWith(`${data}/inputs`, `${small}/targets`), /^alap: Input 'shapes-0000.png' is 16x16 but its target 'shapes-0000.png' is 8x8$/);
  });

  it('a run spec with unknown keys, and an unsupported model before any data is read', async () => {
    const specFile = path.join(work, 'run.json');
    writeFileSync(specFile, JSON.stringify({ size: 16, sparsty: 3 }));
    bad(alap('compress', '--model', base, '--data', `${data}/inputs`, '--out', path.join(work, 'x'), '--spec', specFile), /^alap: Run spec '.*run.json' is not a valid run spec: unknown key 'sparsty'$/);
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

describe('presets, label maps and sample grids', () => {
  const pngSize = (file: string) => {
    const bytes = readFileSync(file);
    return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  };

  it('compress --preset runs the shipped base model on generated data and writes a held-out sample grid', () => {
    const out = path.join(work, 'preset-cartoon');
    const r = alap('compress', '--preset', 'face-to-cartoon', '--count', '10', '--size', '32', '--steps', 'condense=2,distill=2', '--out', out);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('samples.png (held-out: input | target | original | compressed)');
    expect(readdirSync(path.join(`${out}-data`, 'inputs'))).toHaveLength(10);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.macs.ratio).toBeGreaterThan(3); // the preset's budget, macs=0.25
    expect(report.vsTargets.original.psnr).toBeGreaterThan(10);
    // 4 columns of 32 px with 2 px gaps; one held-out row.
    expect(pngSize(path.join(out, 'samples.png'))).toEqual([4 * 32 + 3 * 2, 32]);
  });

  it('train --preset unpaired trains a CycleGAN and writes G: A -> B', async () => {
    const out = path.join(work, 'preset-cyclegan');
    const r = alap('train', '--preset', 'unpaired', '--count', '8', '--steps', '3', '--size', '16', '--ngf', '4', '--blocks', '1', '--out', out);
    expect(r.stderr).not.toMatch(/alap:/);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.steps).toBe(3);
    expect(report.finalLosses.cycle).toBeGreaterThan(0);
    const model = await loadDir(out);
    expect(model.inputs[0].shape).toEqual([null, null, null, 3]);
    expect(pngSize(path.join(out, 'samples.png'))).toEqual([2 * 16 + 2, 16]);
    expect(alap('train', '--preset', 'cartoon', '--out', path.join(work, 'x')).stderr).toContain("Unknown preset 'cartoon'; presets: mask-to-face, face-to-cartoon, unpaired");
  });

  it('--label-classes turns grey label maps into colour-coded inputs, and names a map with a value out of range', () => {
    const dir = path.join(work, 'labels');
    const faces = proceduralFaces(6, 16, 8);
    mkdirSync(path.join(dir, 'masks'), { recursive: true });
    mkdirSync(path.join(dir, 'photos'), { recursive: true });
    faces.forEach((f, i) => {
      writeFileSync(path.join(dir, 'masks', `f${i}.png`), encodePng(16, 16, 1, f.labels));
      writeFileSync(path.join(dir, 'photos', `f${i}.png`), encodePng(16, 16, 3, f.face.data));
    });
    const args = ['train', '--arch', 'resnet', '--ngf', '4', '--blocks', '1', '--size', '16', '--steps', '2', '--data', path.join(dir, 'masks'), '--targets', path.join(dir, 'photos')];
    const ok = alap(...args, '--label-classes', '9', '--out', path.join(work, 'labels-model'));
    expect(ok.stderr).not.toMatch(/alap:/);
    expect(ok.code).toBe(0);
    const tooFew = alap(...args, '--label-classes', '4', '--out', path.join(work, 'labels-bad'));
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(/alap: 'f\d\.png' has the value \d at pixel \(\d+, \d+\), not a class index below 4/);
    expect(existsSync(path.join(work, 'labels-bad'))).toBe(false);
  });
});
