/**
 * Gradient kernels that tfjs 4.22 lacks or gets wrong, composed from kernels that work:
 * - wasm has no Conv2DBackpropFilter (so `variableGrads` through any convolution failed with
 *   "Kernel 'Conv2DBackpropFilter' not registered") and no depthwise filter/input gradients;
 * - wasm's Conv2DBackpropInput (also the forward pass of every transposed convolution) is a
 *   naive loop several times slower than an XNNPACK convolution of the same size;
 * - wasm's MaxPoolGrad (and MaxPoolWithArgmax) misplace gradients once batch or channels exceed 1;
 * - cpu's ResizeNearestNeighborGrad is wrong once batch or channels exceed 1, and wasm's is wrong
 *   with half-pixel centres; both get one replacement.
 * Each replacement is checked in tests against the adjoint identity <f(x), r> = <x, df/dx^T r>.
 * One gradient (not a kernel) is replaced on every backend: FusedBatchNorm's input gradient
 * (batchNormInputGradient below).
 *
 * Each kernel wraps its TensorInfo inputs as tensors (taking a reference on their data, since the
 * engine's wrapper alone does not), computes inside `tf.tidy`, disposes the wrappers and returns
 * the result tensor itself (the engine adopts a returned Tensor as the kernel output), so nothing
 * leaks and no input is freed under its owner.
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;

function wrap(info: Info): tf.Tensor {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  tf.backend().incRef(info.dataId);
  return t;
}

function withInputs(infos: Info[], f: (...ts: tf.Tensor[]) => tf.Tensor): tf.Tensor {
  const ts = infos.map(wrap);
  try {
    return tf.tidy(() => f(...ts));
  } finally {
    ts.forEach((t) => t.dispose());
  }
}

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
// Kernel attributes are untyped in tfjs.
type Attrs = Record<string, any>;

function shape4(info: Info): [number, number, number, number] {
  return info.shape as [number, number, number, number];
}

function convInfo(x: Info, a: Attrs, depthwise: boolean): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(shape4(x), a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, depthwise);
}

function requireNHWC(dataFormat: unknown, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports only NHWC data, got ${String(dataFormat)}`);
  }
}

/**
 * The input patch that meets filter tap (i, j) at every output position: [B, outH, outW, C].
 * `xPad` is the input already padded as the forward convolution padded it.
 */
function tapSlice(xPad: tf.Tensor4D, info: Conv2DInfo, i: number, j: number): tf.Tensor4D {
  const [b, , , c] = xPad.shape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  return tf.stridedSlice(
    xPad,
    [0, i, j, 0],
    [b, i + (info.outHeight - 1) * sh + 1, j + (info.outWidth - 1) * sw + 1, c],
    [1, sh, sw, 1],
  ) as tf.Tensor4D;
}

function padLikeForward(x: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const p = info.padInfo;
  if (p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [p.top, p.bottom],
    [p.left, p.right],
    [0, 0],
  ]);
}

/**
 * Tunables. convFormEntries: above this many indirection entries (input channels x filter taps x
 * output pixels x batch) the filter gradient is computed tap by tap instead of as one
 * convolution, to bound memory.
 */
export const kernelLimits = { convFormEntries: 2 ** 25 };

/**
 * dW as one convolution that XNNPACK runs fast: the padded input with batch and channels swapped
 * ([C, H, W, B]) correlated with dy as the filter ([outH, outW, B, O]), dilated by the stride:
 *   dW[i, j, c, o] = sum_{b, y, x} xPad[b, y*s + i, x*s + j, c] * dy[b, y, x, o].
 * For very large inputs, one matrix product per filter tap instead (one patch in memory at a time).
 */
function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw } = info;
  const [batch, , , cin] = x.shape;
  const cout = dy.shape[3];
  const xPad = padLikeForward(x, info);
  if (cin * kh * kw * info.outHeight * info.outWidth * batch <= kernelLimits.convFormEntries) {
    const xT = tf.transpose(xPad, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    return tf.transpose(tf.slice(full, [0, 0, 0, 0], [cin, kh, kw, cout]), [1, 2, 0, 3]);
  }
  const n = batch * info.outHeight * info.outWidth;
  const dyFlat = dy.reshape([n, cout]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // An explicit transpose then a plain product is ~3x faster on wasm than matMul(transposeA).
      const patchT = tf.transpose(tapSlice(xPad, info, i, j).reshape([n, cin]));
      taps.push(tf.matMul(patchT, dyFlat));
    }
  }
  return tf.stack(taps).reshape([kh, kw, cin, cout]);
}

/** Inserts stride-1 zeros between the rows and columns of t (the inverse of a strided read). */
function spread(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [b, h, w, c] = t.shape;
  return tf
    .pad(t.reshape([b, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]])
    .reshape([b, h * sh, w * sw, c]);
}

/** Pads (positive) or crops (negative) rows and columns at each side; no copy where nothing changes. */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [b, h, w, c] = t.shape;
  const crop = [top, bottom, left, right].map((v) => Math.max(0, -v));
  const cropped = crop.some((v) => v > 0) ? tf.slice(t, [0, crop[0], crop[2], 0], [b, h - crop[0] - crop[1], w - crop[2] - crop[3], c]) : t;
  const pad = [top, bottom, left, right].map((v) => Math.max(0, v));
  return pad.some((v) => v > 0) ? tf.pad(cropped, [[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]]) : cropped;
}

/**
 * dx of a convolution (and the forward pass of a transposed convolution) as a stride-1
 * convolution of the zero-spread dy with the flipped filter, which XNNPACK runs several times
 * faster than wasm's own Conv2DBackpropInput:
 *   dx[h] = sum_i D[h + padTop - i] W[i],  D = dy spread by the stride.
 */
function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, h, w] = inputShape;
  if ((sh > 1 || sw > 1) && kh >= sh && kw >= sw && h % sh === 0 && w % sw === 0) return conv2dInputGradByPhase(dy, filter, h, w, info);
  const d = spread(dy, sh, sw);
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const e = padOrCrop(d, top, h + kh - 1 - top - d.shape[1], left, w + kw - 1 - left - d.shape[2]);
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(e, flipped, 1, 'valid');
}

/**
 * The same for stride > 1 without the zero-spread input: output rows h = s*q + p of one phase p
 * only see the filter taps i = r + s*m with r = (p + padTop) mod s, so each of the s x s phases is
 * a stride-1 convolution of dy itself with that sub-filter (reversed):
 *   out_p[q] = sum_m dy[q + c_p - m] W[r + s*m],  c_p = (p + padTop - r) / s
 * s^2 times fewer multiply-adds than on the zero-spread input. (One convolution for all phases
 * over a common window, interleaved by depthToSpace, was tried: the phases read dy at different
 * offsets, so the common window computes zero taps (16 instead of 9 per 2x2 block of outputs at 3x3
 * stride 2, 36 instead of 16 at 4x4) and measured slower on the wide layers of the shipped base.)
 */
function conv2dInputGradByPhase(dy: tf.Tensor4D, filter: tf.Tensor4D, h: number, w: number, info: Conv2DInfo): tf.Tensor4D {
  const rows = phaseWindows(info.filterHeight, info.strideHeight, info.padInfo.top, h, dy.shape[1]);
  const cols = phaseWindows(info.filterWidth, info.strideWidth, info.padInfo.left, w, dy.shape[2]);
  const subFilter = (ry: PhaseWindow, rx: PhaseWindow) => tf.transpose(tf.gather(tf.gather(filter, ry.idx, 0), rx.idx, 1), [0, 1, 3, 2]) as tf.Tensor4D;
  const byRow = rows.map((ry) => {
    const phases = cols.map((rx) => tf.conv2d(padOrCrop(dy, ry.before, ry.after, rx.before, rx.after), subFilter(ry, rx), 1, 'valid'));
    const [b, q, x, c] = phases[0].shape;
    return tf.stack(phases, 3).reshape([b, q, x * cols.length, c]);
  });
  const [b, q, wx, c] = byRow[0].shape;
  return tf.stack(byRow, 2).reshape([b, q * rows.length, wx, c]) as tf.Tensor4D;
}

/** One phase along one axis: its reversed sub-filter taps and the padding (or cropping) of dy it reads. */
interface PhaseWindow {
  idx: number[];
  before: number;
  after: number;
}

function phaseWindows(k: number, s: number, pad: number, outLen: number, dyLen: number): PhaseWindow[] {
  return Array.from({ length: s }, (_, p) => {
    const r = (p + pad) % s;
    const taps = Math.ceil((k - r) / s);
    const offset = (p + pad - r) / s - taps + 1;
    // Sub-filter taps, reversed so that a correlation computes the sum above.
    const idx = Array.from({ length: taps }, (_, a) => r + s * (taps - 1 - a));
    return { idx, before: -offset, after: outLen / s + taps - 1 - dyLen + offset };
  });
}

/** dW[i,j,c,m] = sum over positions of patch(i,j)[c] * dy[c*mult + m]. */
function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo, mult: number): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw } = info;
  const c = x.shape[3];
  const n = dy.shape[0] * dy.shape[1] * dy.shape[2];
  const xPad = padLikeForward(x, info);
  const dyGroups = dy.reshape([n, c, mult]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const patch = tapSlice(xPad, info, i, j).reshape([n, c, 1]);
      taps.push(tf.sum(tf.mul(patch, dyGroups), 0) as tf.Tensor2D);
    }
  }
  return tf.stack(taps).reshape([kh, kw, c, mult]);
}

/**
 * The depthwise filter as an ordinary conv filter [kh, kw, C, C*mult] that is zero off the
 * channel diagonal, so the input gradient can use wasm's Conv2DBackpropInput.
 */
function depthwiseAsDenseFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, mult] = filter.shape;
  const eye = tf.eye(c).reshape([1, 1, c, c, 1]);
  return tf.mul(filter.reshape([kh, kw, c, 1, mult]), eye).reshape([kh, kw, c, c * mult]);
}

function rejectDilation(dilations: unknown, kernel: string): void {
  const d = dilations as number | [number, number] | undefined;
  if (d === undefined) return;
  const [dh, dw] = typeof d === 'number' ? [d, d] : d;
  if (dh !== 1 || dw !== 1) throw new Error(`${kernel} on wasm does not support dilation > 1`);
}

/**
 * Places a per-output-position tensor [B, outH, outW, C] back at the input positions that filter
 * tap (i, j) read: row i + y * strideH, column j + x * strideW of a [B, padH, padW, C] grid.
 */
function placeTap(t: tf.Tensor4D, info: Conv2DInfo, i: number, j: number, padH: number, padW: number): tf.Tensor4D {
  const [b, oh, ow, c] = t.shape;
  const spreadT = spread(t, info.strideHeight, info.strideWidth);
  const h = Math.min(oh * info.strideHeight, padH - i);
  const w = Math.min(ow * info.strideWidth, padW - j);
  return tf.pad(tf.slice(spreadT, [0, 0, 0, 0], [b, h, w, c]), [
    [0, 0],
    [i, padH - i - h],
    [j, padW - j - w],
    [0, 0],
  ]);
}

/** Max-pool gradient: dy goes to the first maximum of each window (as tfjs's cpu backend does). */
function maxPoolGrad(dy: tf.Tensor4D, x: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const p = info.padInfo;
  const xPad = tf.pad(x, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]], -3.4e38);
  const [, padH, padW] = xPad.shape;
  const taps: [number, number][] = [];
  for (let i = 0; i < info.filterHeight; i++) for (let j = 0; j < info.filterWidth; j++) taps.push([i, j]);
  const patches = taps.map(([i, j]) => tapSlice(xPad, info, i, j));
  const max = patches.reduce((m, t) => tf.maximum(m, t));
  let taken = tf.zerosLike(max).cast('bool');
  const parts = patches.map((patch, k) => {
    const first = tf.logicalAnd(tf.equal(patch, max), tf.logicalNot(taken));
    taken = tf.logicalOr(taken, first);
    return placeTap(tf.mul(dy, first.cast('float32')), info, taps[k][0], taps[k][1], padH, padW);
  });
  return tf.slice(tf.addN(parts), [0, p.top, p.left, 0], x.shape);
}

/** Row (or column) of the input that output index r of a nearest-neighbour resize reads. */
function nearestSource(r: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const frac = halfPixel ? scale * (r + 0.5) : scale * r;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixel ? Math.max(0, nearest) : nearest;
}

/** [inSize, outSize] matrix with a 1 where output index r reads input index s. */
function nearestMatrix(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): tf.Tensor2D {
  const m = new Float32Array(inSize * outSize);
  for (let r = 0; r < outSize; r++) m[nearestSource(r, inSize, outSize, alignCorners, halfPixel) * outSize + r] = 1;
  return tf.tensor2d(m, [inSize, outSize]);
}

/** Nearest-neighbour resize gradient as two matrix products: dx[b, :, :, c] = Mh · dy · Mwᵀ. */
function resizeNearestGrad(dy: tf.Tensor4D, inShape: number[], alignCorners: boolean, halfPixel: boolean): tf.Tensor4D {
  const [b, inH, inW, c] = inShape;
  const [, outH, outW] = dy.shape;
  const mh = nearestMatrix(inH, outH, alignCorners, halfPixel).expandDims(0) as tf.Tensor3D;
  const mwT = nearestMatrix(inW, outW, alignCorners, halfPixel).transpose().expandDims(0) as tf.Tensor3D;
  const planes = dy.transpose([0, 3, 1, 2]).reshape([b * c, outH, outW]) as tf.Tensor3D;
  const dx = tf.matMul(tf.matMul(mh, planes), mwT);
  return dx.reshape([b, c, inH, inW]).transpose([0, 2, 3, 1]);
}

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * tfjs-core's FusedBatchNorm gradient tiles 1/sqrt(variance) to the input's full shape before
 * multiplying dy by it: a full-size copy per batch-norm layer per step (on wasm a tile + multiply of
 * [8, 66, 66, 6] took 13.9 ms against 3.3 ms for the broadcasting multiply). The same value, by
 * broadcasting; the other gradients (mean, variance, scale, offset) are tfjs's own.
 */
function registerBatchNormInputGradient(): void {
  const original = tf.getGradient('FusedBatchNorm');
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const grads = original.gradFunc(dy, saved, attrs);
      const [x, , variance, scale] = saved;
      const epsilon = (attrs as Attrs).varianceEpsilon as number;
      grads.x = () => {
        const factor = tf.rsqrt(tf.add(variance, epsilon));
        return tf.mul(dy as tf.Tensor, scale ? tf.mul(factor, scale) : factor).reshape(x.shape);
      };
      return grads;
    },
  });
}

const registered = new Set<string>();

/**
 * Registers the missing and corrected gradient kernels for a backend ('wasm' or 'cpu'; others
 * need none). Call after the backend's module is imported. Idempotent.
 */
export function registerGradientKernels(backend: string): void {
  if (registered.has(backend)) return;
  if (registered.size === 0) registerBatchNormInputGradient();
  registered.add(backend);
  if (backend !== 'cpu' && backend !== 'wasm') return;
  const replace = (kernelName: string, f: (inputs: Record<string, Info>, attrs: Attrs) => tf.Tensor) =>
    replaceKernel({
      kernelName,
      backendName: backend,
      kernelFunc: ({ inputs, attrs }) => f(inputs as Record<string, Info>, attrs as unknown as Attrs),
    });

  replace('ResizeNearestNeighborGrad', ({ images, dy }, a) =>
    withInputs([dy], (dyt) => resizeNearestGrad(dyt as tf.Tensor4D, images.shape, a.alignCorners, a.halfPixelCenters)),
  );
  if (backend === 'cpu') return;

  replace('MaxPoolGrad', ({ dy, input }, a) => {
    const info = tf.backend_util.computePool2DInfo(shape4(input), a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    return withInputs([dy, input], (dyt, xt) => maxPoolGrad(dyt as tf.Tensor4D, xt as tf.Tensor4D, info));
  });

  replace('Conv2DBackpropFilter', ({ x, dy }, a) => {
    requireNHWC(a.dataFormat, 'Conv2DBackpropFilter');
    const info = convInfo(x, a, false);
    return withInputs([x, dy], (xt, dyt) => conv2dFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info));
  });

  replace('Conv2DBackpropInput', ({ dy, filter }, a) => {
    requireNHWC(a.dataFormat, 'Conv2DBackpropInput');
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, shape4(filter), a.strides, 1, a.pad, a.dimRoundingMode);
    return withInputs([dy, filter], (dyt, ft) => conv2dInputGrad(dyt as tf.Tensor4D, ft as tf.Tensor4D, a.inputShape, info));
  });

  replace('DepthwiseConv2dNativeBackpropFilter', ({ x, dy }, a) => {
    rejectDilation(a.dilations, 'DepthwiseConv2dNativeBackpropFilter');
    const info = convInfo(x, a, true);
    const mult = a.filterShape[3] as number;
    return withInputs([x, dy], (xt, dyt) => depthwiseFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info, mult));
  });

  replace('DepthwiseConv2dNativeBackpropInput', ({ dy, filter }, a) => {
    rejectDilation(a.dilations, 'DepthwiseConv2dNativeBackpropInput');
    return withInputs([dy, filter], (dyt, ft) =>
      tf.conv2dTranspose(dyt as tf.Tensor4D, depthwiseAsDenseFilter(ft as tf.Tensor4D), a.inputShape, a.strides, a.pad, a.dimRoundingMode),
    );
  });
}
