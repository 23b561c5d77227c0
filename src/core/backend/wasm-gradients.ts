/**
 * Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 does not ship, composed from kernels it
 * does have. Without them `variableGrads` through any convolution fails on wasm with
 * "Kernel 'Conv2DBackpropFilter' not registered", so CPU-only devices could not train.
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

/** dW[i,j,:,:] = patch(i,j)^T · dy, one matrix product per filter tap (memory: one patch at a time). */
function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw } = info;
  const cin = x.shape[3];
  const cout = dy.shape[3];
  const n = dy.shape[0] * dy.shape[1] * dy.shape[2];
  const xPad = padLikeForward(x, info);
  const dyFlat = dy.reshape([n, cout]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const patch = tapSlice(xPad, info, i, j).reshape([n, cin]);
      taps.push(tf.matMul(patch, dyFlat, true, false));
    }
  }
  return tf.stack(taps).reshape([kh, kw, cin, cout]);
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

let registered = false;

/** Registers the missing gradient kernels for the 'wasm' backend. Idempotent. */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;

  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as Record<string, any>;
      requireNHWC(a.dataFormat, 'Conv2DBackpropFilter');
      const { x, dy } = inputs as { x: Info; dy: Info };
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      return withInputs([x, dy], (xt, dyt) => conv2dFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info));
    },
  });

  tf.registerKernel({
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as Record<string, any>;
      rejectDilation(a.dilations, 'DepthwiseConv2dNativeBackpropFilter');
      const { x, dy } = inputs as { x: Info; dy: Info };
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        true,
      );
      const mult = a.filterShape[3] as number;
      return withInputs([x, dy], (xt, dyt) =>
        depthwiseFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info, mult),
      );
    },
  });

  tf.registerKernel({
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as Record<string, any>;
      rejectDilation(a.dilations, 'DepthwiseConv2dNativeBackpropInput');
      const { dy, filter } = inputs as { dy: Info; filter: Info };
      return withInputs([dy, filter], (dyt, ft) =>
        tf.conv2dTranspose(
          dyt as tf.Tensor4D,
          depthwiseAsDenseFilter(ft as tf.Tensor4D),
          a.inputShape,
          a.strides,
          a.pad,
          a.dimRoundingMode,
        ),
      );
    },
  });
}
