/**
 * Inference through onnxruntime-web (wasm) on a model's ONNX export (onnx-export.ts): used by the
 * inference worker (Live, Benchmark) and by benches that size students for it. Training stays on
 * tfjs; this is the same network and weights on a faster inference runtime.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web/wasm';
import { measureFrames, type LatencyMeasurer } from '../measure/latency';
import { toOnnx } from './onnx-export';

/**
 * A session on the model's ONNX export; `threads` applies to the first session of the process
 * (onnxruntime fixes its pool then). Refused next to tfjs on WebGPU: with onnxruntime-web's
 * threads in the same worker, the WebGPU device (SwiftShader, e2e) was destroyed in both tries
 * here. Callers keep tfjs then (fastestMeasurer skips a measurer that throws; Live says why).
 */
export async function onnxSession(model: tf.LayersModel, threads?: number): Promise<ort.InferenceSession> {
  if (tf.getBackend() === 'webgpu') throw new Error('onnxruntime-web is not run next to tfjs on WebGPU in one worker (it destroyed the WebGPU device here): tfjs only');
  if (threads) ort.env.wasm.numThreads = threads;
  return ort.InferenceSession.create(toOnnx(model), { executionProviders: ['wasm'], ...(threads && { intraOpNumThreads: threads }) });
}

/** One batch through onnxruntime: NHWC in the model's range in, NHWC out (as tfjs tensors). */
export async function runOnnx(session: ort.InferenceSession, x: tf.Tensor4D): Promise<tf.Tensor4D> {
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  const data = (await nchw.data()) as Float32Array;
  const { output } = await session.run({ input: new ort.Tensor('float32', data, nchw.shape) });
  nchw.dispose();
  const y = tf.tidy(() => tf.transpose(tf.tensor4d(output.data as Float32Array, output.dims as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
  output.dispose();
  return y;
}

/** A latency measurer (for FPS budgets) that times frames on onnxruntime-web instead of tfjs. */
export function onnxLatencyMeasurer(threads = 1, runs = 20): LatencyMeasurer {
  return async (model, shape) => {
    const session = await onnxSession(model, threads);
    try {
      return await measureFrames(async (x) => (await runOnnx(session, x as tf.Tensor4D)).dispose(), shape, { runs }, `onnxruntime-web wasm, ${threads} thread${threads > 1 ? 's' : ''}`);
    } finally {
      await session.release();
    }
  };
}
