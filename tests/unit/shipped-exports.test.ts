import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/backend';
import { readModelDir } from '../../src/cli/model-dir';
import { PRESETS } from '../../src/core/models/presets';

/** The committed downloads of the shipped models (bench/export-shipped.ts) run like the shipped models. */
beforeAll(async () => {
  tf.env().set('PROD', true);
  await initBackend({ prefer: 'wasm' });
  ort.env.wasm.numThreads = 1;
});

describe('shipped models as graph model and ONNX downloads', () => {
  for (const preset of Object.values(PRESETS)) {
    it(`${preset.task}: the graph model and the ONNX file compute what the shipped model computes (1e-4)`, async () => {
      const dir = path.resolve('public', preset.modelDir);
      const model = await readModelDir(dir);
      const zip = (format: string) => unzipSync(new Uint8Array(readFileSync(path.join(dir, 'export', `${preset.task}-${format}.zip`))));
      const x = tf.randomUniform([1, 48, 48, 3], -1, 1, 'float32', 11);
      const expected = model.predict(x) as tf.Tensor;
      const diff = (a: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, expected))).dataSync()[0]);

      const graphFiles = zip('tfjs-graph');
      expect(strFromU8(graphFiles['README.md'])).toContain("tf.loadGraphModel('model.json')");
      const json = JSON.parse(strFromU8(graphFiles['model.json']));
      const weights = graphFiles['weights.bin'];
      const graph = await tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }));
      expect(diff(graph.predict(x) as tf.Tensor)).toBeLessThan(1e-4);

      const onnxFiles = zip('onnx');
      const session = await ort.InferenceSession.create(onnxFiles['model.onnx']);
      const nchw = tf.transpose(x, [0, 3, 1, 2]);
      const { output } = await session.run({ input: new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape) });
      expect(diff(tf.transpose(tf.tensor(output.data as Float32Array, output.dims as number[]), [0, 2, 3, 1]))).toBeLessThan(1e-4);
      await session.release();
      tf.dispose([x, expected, nchw]);
      model.dispose();
      graph.dispose();
    });
  }
});
