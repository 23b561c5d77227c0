/**
 * Compensation for removed channels without gradient steps (channel-pruning reconstruction in the
 * spirit of He et al. 2017 and ThiNet): after slicing, every convolution whose input changed is
 * refitted, in topological order, by least squares so that on a few images it reproduces the
 * original model's output of the same layer (its kept channels) from the pruned model's input.
 * Patches come from a convolution with an identity kernel; the normal equations are accumulated
 * and solved in float64 (Cholesky), with a small ridge towards the sliced weights so that
 * directions the images do not excite keep their original values.
 */
import * as tf from '@tensorflow/tfjs';
import type { ChannelGraph } from '../graph/channel-graph';
import { Rng } from '../train/rng';

export interface RefitOptions {
  /** Ridge strength relative to the mean diagonal of the normal matrix. */
  ridge?: number;
  /** Convolutions with more unknowns per output channel than this are left as sliced. */
  maxUnknowns?: number;
  /** Images per forward pass while accumulating. */
  chunk?: number;
  /** Output pixels (rows of the system) sampled per layer, spread over the images (seeded). */
  maxRows?: number;
}

export interface RefitLayer {
  name: string;
  /** Relative squared error of the layer's output against the original's: sliced, then refitted. */
  before: number;
  after: number;
}

export interface RefitReport {
  refitted: RefitLayer[];
  /** Layers whose input changed but which were left as sliced, and why. */
  skipped: { name: string; why: string }[];
}

interface ConvConfig {
  kernel_size?: number[];
  kernelSize?: number[];
  strides: number[];
  padding: 'same' | 'valid';
  dilation_rate?: number[];
  dilationRate?: number[];
  use_bias?: boolean;
  useBias?: boolean;
  activation: string;
}

/**
 * Refits, in place, the convolutions of `pruned` (built from `graph` with `removed` groups gone)
 * whose input differs from the original's. `inputs` are images in the model's own range.
 */
export async function refitConvolutions(
  graph: ChannelGraph,
  removed: ReadonlySet<number>,
  pruned: tf.LayersModel,
  inputs: tf.Tensor4D,
  o: RefitOptions = {},
): Promise<RefitReport> {
  const ridge = o.ridge ?? 1e-3;
  const maxUnknowns = o.maxUnknowns ?? 4096;
  const chunk = o.chunk ?? 4;
  const maxRows = o.maxRows ?? 16384;
  const report: RefitReport = { refitted: [], skipped: [] };
  // A layer's output differs from the original's when its input does or it lost channels.
  const changed = new Set<string>();
  for (const l of graph.layers) {
    const inputChanged = l.inputs.some((n) => changed.has(n));
    if (inputChanged || l.channels.some((g) => removed.has(g))) changed.add(l.name);
    if (!inputChanged || !l.layer.weights.length) continue;
    const config = l.layer.getConfig() as unknown as ConvConfig;
    if (l.className !== 'Conv2D' && l.className !== 'Conv2DTranspose') {
      // Per-channel layers (norms, activations with parameters) adapt to their input by themselves.
      if (l.role === 'source') report.skipped.push({ name: l.name, why: `${l.className} is not refitted` });
      continue;
    }
    if (config.activation !== 'linear') {
      report.skipped.push({ name: l.name, why: `fused ${config.activation} activation (not linear in its weights)` });
      continue;
    }
    const [kh, kw] = config.kernel_size ?? config.kernelSize!;
    const cin = l.inChannels.filter((g) => !removed.has(g)).length;
    const unknowns = kh * kw * cin + (config.use_bias ?? config.useBias ? 1 : 0);
    if (unknowns > maxUnknowns) {
      report.skipped.push({ name: l.name, why: `${unknowns} unknowns per output channel (limit ${maxUnknowns})` });
      continue;
    }
    const keptOut: number[] = [];
    l.channels.forEach((g, c) => removed.has(g) || keptOut.push(c));
    report.refitted.push(await refitLayer(l.name, config, graph.model, pruned, inputs, keptOut, { ridge, chunk, maxRows, seed: report.refitted.length + 1 }));
  }
  return report;
}

async function refitLayer(
  name: string,
  config: ConvConfig,
  original: tf.LayersModel,
  pruned: tf.LayersModel,
  inputs: tf.Tensor4D,
  keptOut: number[],
  o: { ridge: number; chunk: number; maxRows: number; seed: number },
): Promise<RefitLayer> {
  const layer = pruned.getLayer(name);
  const [kh, kw] = config.kernel_size ?? config.kernelSize!;
  const strides = config.strides as [number, number];
  const dilations = (config.dilation_rate ?? config.dilationRate ?? [1, 1]) as [number, number];
  const useBias = Boolean(config.use_bias ?? config.useBias);
  const transposed = layer.getClassName() === 'Conv2DTranspose';
  const [weights, bias] = layer.getWeights();
  // As [kh, kw, in, out] (a transposed convolution stores [kh, kw, out, in]).
  const kernel = transposed ? tf.transpose(weights, [0, 1, 3, 2]) : weights;
  const [, , cin, cout] = kernel.shape as number[];
  const k = kh * kw * cin;
  const n = k + (useBias ? 1 : 0);
  // Patch element (i, j, c) sits at (i * kw + j) * cin + c: the kernel's own flattening. A
  // convolution's patches are its padded input's strided slices, one per tap, side by side; a
  // transposed convolution's come from the same layer run with an identity kernel of k outputs.
  const identity = transposed ? tf.tidy(() => tf.transpose(tf.reshape(tf.eye(k), [kh, kw, cin, k]), [0, 1, 3, 2]) as tf.Tensor4D) : null;
  const patchesOf = (x: tf.Tensor4D, outHW: number[]) =>
    identity ? tf.conv2dTranspose(x, identity, [x.shape[0], outHW[0], outHW[1], k], strides, config.padding) : convPatches(x, [kh, kw], strides, dilations, config.padding);
  const chunks = Math.ceil(inputs.shape[0] / o.chunk);
  const rng = new Rng(o.seed);
  const studentInput = tf.model({ inputs: pruned.inputs, outputs: layer.input as tf.SymbolicTensor });
  const teacherOutput = tf.model({ inputs: original.inputs, outputs: original.getLayer(name).output as tf.SymbolicTensor });
  const gram = new Float64Array(n * n);
  const cross = new Float64Array(n * cout);
  let targetSq = 0;
  try {
    for (let start = 0; start < inputs.shape[0]; start += o.chunk) {
      const size = Math.min(o.chunk, inputs.shape[0] - start);
      const [g, c, yy] = tf.tidy(() => {
        const x = tf.slice(inputs, start, size);
        const full = teacherOutput.predict(x) as tf.Tensor4D;
        let patches = tf.reshape(patchesOf(studentInput.predict(x) as tf.Tensor4D, full.shape.slice(1, 3)), [-1, k]) as tf.Tensor2D;
        let y = tf.reshape(keptOut.length === full.shape[3] ? full : tf.gather(full, keptOut, 3), [-1, cout]) as tf.Tensor2D;
        const rows = Math.ceil(o.maxRows / chunks);
        if (patches.shape[0] > rows) {
          const pick = tf.tensor1d(Array.from({ length: rows }, () => rng.int(patches.shape[0])), 'int32');
          [patches, y] = [tf.gather(patches, pick), tf.gather(y, pick)];
        }
        if (useBias) patches = tf.concat([patches, tf.ones([patches.shape[0], 1])], 1);
        return [tf.matMul(patches, patches, true), tf.matMul(patches, y, true), tf.sum(tf.square(y))];
      });
      const [gd, cd, yd] = (await Promise.all([g.data(), c.data(), yy.data()])) as Float32Array[];
      tf.dispose([g, c, yy]);
      gd.forEach((v, i) => (gram[i] += v));
      cd.forEach((v, i) => (cross[i] += v));
      targetSq += yd[0];
    }
    // The sliced weights as an n x cout matrix (kernel rows, then the bias row).
    const w0 = new Float64Array(n * cout);
    w0.set(await kernel.data());
    if (useBias) w0.set(await bias.data(), k * cout);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += gram[i * n + i];
    const lambda = (o.ridge * trace) / n || 1e-12;
    const a = Float64Array.from(gram);
    const b = Float64Array.from(cross);
    for (let i = 0; i < n; i++) {
      a[i * n + i] += lambda;
      for (let j = 0; j < cout; j++) b[i * cout + j] += lambda * w0[i * cout + j];
    }
    const w = choleskySolve(a, b, n, cout);
    const error = (m: Float64Array) => residual(gram, cross, targetSq, m, n, cout) / Math.max(targetSq, 1e-30);
    const before = error(w0);
    const after = error(w);
    // Weights only change where the fit is better, and not for a layer that already matches to
    // float32 precision (the normal equations are accumulated in float32).
    if (after < before && before > 1e-6) {
      const fitted = [
        tf.tidy(() => {
          const t = tf.tensor(Float32Array.from(w.subarray(0, k * cout)), kernel.shape);
          return transposed ? tf.transpose(t, [0, 1, 3, 2]) : t;
        }),
      ];
      if (useBias) fitted.push(tf.tensor(Float32Array.from(w.subarray(k * cout)), bias.shape));
      layer.setWeights(fitted);
      tf.dispose(fitted);
    }
    return { name, before, after: Math.min(before, after) };
  } finally {
    identity?.dispose();
    if (kernel !== weights) kernel.dispose();
  }
}

/** A convolution's input patches [n, outH, outW, kh * kw * cin], ordered like its kernel's rows. */
function convPatches(x: tf.Tensor4D, [kh, kw]: number[], [sh, sw]: number[], [dh, dw]: number[], padding: 'same' | 'valid'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const span = (kernel: number, d: number) => (kernel - 1) * d + 1;
  let [outH, outW] = [Math.floor((h - span(kh, dh)) / sh) + 1, Math.floor((w - span(kw, dw)) / sw) + 1];
  let padded = x;
  if (padding === 'same') {
    [outH, outW] = [Math.ceil(h / sh), Math.ceil(w / sw)];
    const ph = Math.max(0, (outH - 1) * sh + span(kh, dh) - h);
    const pw = Math.max(0, (outW - 1) * sw + span(kw, dw) - w);
    padded = tf.pad(x, [[0, 0], [Math.floor(ph / 2), ph - Math.floor(ph / 2)], [Math.floor(pw / 2), pw - Math.floor(pw / 2)], [0, 0]]);
  }
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      taps.push(tf.stridedSlice(padded, [0, i * dh, j * dw, 0], [n, i * dh + (outH - 1) * sh + 1, j * dw + (outW - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D);
    }
  }
  return tf.concat(taps, 3);
}

/** |P W - Y|^2 from the normal equations: tr(W' G W) - 2 tr(W' C) + |Y|^2. */
function residual(gram: Float64Array, cross: Float64Array, targetSq: number, w: Float64Array, n: number, m: number): number {
  let quad = 0;
  let lin = 0;
  const gw = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    gw.fill(0);
    for (let i = 0; i < n; i++) {
      const wij = w[i * m + j];
      if (wij === 0) continue;
      for (let r = 0; r < n; r++) gw[r] += gram[r * n + i] * wij;
    }
    for (let i = 0; i < n; i++) {
      quad += w[i * m + j] * gw[i];
      lin += w[i * m + j] * cross[i * m + j];
    }
  }
  return Math.max(0, quad - 2 * lin + targetSq);
}

/** Solves A X = B for symmetric positive definite A (n x n) and B (n x m), row-major, in float64. */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
      if (i === j) {
        if (!(s > 0)) throw new Error('The least-squares system is not positive definite');
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  const x = Float64Array.from(b);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * m + j];
      for (let p = 0; p < i; p++) s -= l[i * n + p] * x[p * m + j];
      x[i * m + j] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + j];
      for (let p = i + 1; p < n; p++) s -= l[p * n + i] * x[p * m + j];
      x[i * m + j] = s / l[i * n + i];
    }
  }
  return x;
}
