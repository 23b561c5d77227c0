import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { loadModelFromFiles } from '../../src/core/io/model-files';
import { toGraphModelFiles } from '../../src/core/io/graph-model';
import { toOnnx } from '../../src/core/io/onnx-export';

/**
 * What alap hands out runs where alap is not: a page with nothing but @tensorflow/tfjs loads the
 * graph-model export, a page with nothing but onnxruntime-web runs the ONNX export, and both match
 * the model alap computed (the shipped face -> cartoon base, in Node).
 */
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'plain pages do not use the studio backend: run once');
});

const ORIGIN = 'http://plain.test';
const SIZE = 32;

function shipped(): Promise<tf.LayersModel> {
  const dir = path.resolve('public/models/face-to-cartoon');
  return loadModelFromFiles(readFileSync(path.join(dir, 'model.json'), 'utf8'), new Map([['weights.bin', new Uint8Array(readFileSync(path.join(dir, 'weights.bin')))]]));
}

/** A fixed input in [-1, 1] (NHWC) and the model's output for it, computed here. */
async function reference(model: tf.LayersModel): Promise<{ input: number[]; output: Float32Array }> {
  const input = Array.from({ length: SIZE * SIZE * 3 }, (_, i) => Math.sin(i * 0.37) * 0.9);
  const y = model.predict(tf.tensor4d(input, [1, SIZE, SIZE, 3])) as tf.Tensor;
  return { input, output: (await y.data()) as Float32Array };
}

/** Serves `files` (path -> bytes) on a made-up origin with an empty page at '/'. */
async function plainPage(page: Page, files: Record<string, Buffer | Uint8Array | string>): Promise<void> {
  await page.route(`${ORIGIN}/**`, (route) => {
    const p = new URL(route.request().url()).pathname;
    if (p === '/') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>plain</title>' });
    const body = files[p];
    if (body === undefined) return route.fulfill({ status: 404 });
    const type = p.endsWith('.js') || p.endsWith('.mjs') ? 'text/javascript' : p.endsWith('.wasm') ? 'application/wasm' : p.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return route.fulfill({ contentType: type, body: typeof body === 'string' ? body : Buffer.from(body) });
  });
  await page.goto(`${ORIGIN}/`);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('a page with only @tensorflow/tfjs runs the graph-model export like alap does', async ({ page }) => {
  const model = await shipped();
  const files = toGraphModelFiles(model);
  const { input, output } = await reference(model);
  await plainPage(page, {
    '/tf.min.js': readFileSync(path.resolve('node_modules/@tensorflow/tfjs/dist/tf.min.js')),
    '/model/model.json': files.modelJson,
    '/model/weights.bin': files.shards.get('weights.bin')!,
  });
  await page.addScriptTag({ url: '/tf.min.js' });
  const got = await page.evaluate(
    async ({ input, size }) => {
      const t = (window as unknown as { tf: typeof tf }).tf;
      await t.setBackend('cpu');
      const m = await t.loadGraphModel('/model/model.json');
      const y = m.predict(t.tensor4d(input, [1, size, size, 3])) as tf.Tensor;
      return Array.from(await y.data());
    },
    { input, size: SIZE },
  );
  expect(maxDiff(got, output)).toBeLessThan(1e-4);
});

test('a page with only onnxruntime-web runs the ONNX export like alap does', async ({ page }) => {
  const model = await shipped();
  const { input, output } = await reference(model);
  const dist = path.resolve('node_modules/onnxruntime-web/dist');
  await plainPage(page, {
    '/ort.wasm.min.js': readFileSync(path.join(dist, 'ort.wasm.min.js')),
    '/ort-wasm-simd-threaded.mjs': readFileSync(path.join(dist, 'ort-wasm-simd-threaded.mjs')),
    '/ort-wasm-simd-threaded.wasm': readFileSync(path.join(dist, 'ort-wasm-simd-threaded.wasm')),
    '/model.onnx': toOnnx(model),
  });
  await page.addScriptTag({ url: '/ort.wasm.min.js' });
  const got = await page.evaluate(
    async ({ input, size }) => {
      type Ort = typeof import('onnxruntime-web');
      const ort = (window as unknown as { ort: Ort }).ort;
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = '/';
      const session = await ort.InferenceSession.create('/model.onnx');
      // NHWC -> NCHW in, NCHW -> NHWC out.
      const nchw = new Float32Array(input.length);
      for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) nchw[c * size * size + i] = input[i * 3 + c];
      const { output } = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, size, size]) });
      const data = output.data as Float32Array;
      return Array.from({ length: data.length }, (_, j) => data[(j % 3) * size * size + Math.floor(j / 3)]);
    },
    { input, size: SIZE },
  );
  expect(maxDiff(got, output)).toBeLessThan(1e-4);
});
