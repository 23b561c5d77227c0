/**
 * Inference worker: owns a tfjs backend off the main thread. For now it initialises the backend
 * and runs a tiny generator as a self-test; benchmark and webcam inference will live here.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendName } from '../src/core/backend';
import { buildGenerator, defaultSpec } from '../src/core/models/zoo';
import { WASM_PATHS } from './wasm-paths';

export interface SelfTest {
  backend: string;
  outputShape: number[];
  /** Mean |output| read back from the backend: proves the forward pass really ran. */
  meanAbs: number;
  ms: number;
}

const api = {
  async init(prefer?: BackendName): Promise<BackendInfo> {
    return initBackend({ prefer, wasmPaths: WASM_PATHS });
  },

  async selfTest(): Promise<SelfTest> {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 1);
    const t0 = performance.now();
    const y = model.predict(x) as tf.Tensor;
    const values = (await y.data()) as Float32Array;
    const ms = performance.now() - t0;
    const meanAbs = values.reduce((s, v) => s + Math.abs(v), 0) / values.length;
    const result = { backend: tf.getBackend(), outputShape: y.shape, meanAbs, ms };
    tf.dispose([x, y]);
    model.dispose();
    return result;
  },
};

export type InferenceApi = typeof api;
Comlink.expose(api);
