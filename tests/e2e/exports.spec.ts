import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { loadModelFromFiles } from '../../src/core/io/model-files';
import { modelZip } from '../../src/core/io/formats';
import { strFromU8, unzipSync } from 'fflate';

/**
 * What alap hands out runs where alap is not: the snippet in the README of the graph-model zip runs
 * in a page with nothing but @tensorflow/tfjs, the ONNX zip's in a page with nothing but
 * onnxruntime-web, and both match the model alap computed (the shipped face -> cartoon base, in Node).
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

/** The js block of a README exported with a model: what a user copies. */
function snippet(readme: string): string {
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code, 'README.md has a js snippet').toBeTruthy();
  return code!;
}

/**
 * Runs the export zip's README snippet as a module in the plain page (bare imports resolved by an
 * import map), then `check` (module code that can use the snippet's variables) sets window.got.
 */
async function runSnippet(page: Page, readme: string, imports: Record<string, string>, check: string, input: number[]): Promise<number[]> {
  const code = `window.input = ${JSON.stringify(input)};\n${snippet(readme)}\n${check}`;
  await page.evaluate(
    ({ imports, code }) => {
      const map = document.createElement('script');
      map.type = 'importmap';
      map.textContent = JSON.stringify({ imports });
      document.head.append(map);
      const script = document.createElement('script');
      script.type = 'module';
      script.textContent = code;
      const fail = (message: string) => ((window as unknown as { failed: string }).failed = message);
      window.addEventListener('error', (e) => fail(e.message));
      window.addEventListener('unhandledrejection', (e) => fail(String(e.reason)));
      document.body.append(script);
    },
    { imports, code },
  );
  await page.waitForFunction(() => 'got' in window || 'failed' in window, null, { timeout: 60_000 });
  const { got, failed } = await page.evaluate(() => {
    const w = window as unknown as { got?: number[]; failed?: string };
    return { got: w.got, failed: w.failed };
  });
  expect(failed).toBeUndefined();
  return got!;
}

test('the graph-model zip\'s README snippet runs in a page with only @tensorflow/tfjs, like alap does', async ({ page }) => {
  const model = await shipped();
  const files = unzipSync(await modelZip(model, 'tfjs-graph', { inputRange: '-1,1', size: SIZE }));
  const { input, output } = await reference(model);
  await plainPage(page, {
    '/tf.fesm.min.js': readFileSync(path.resolve('node_modules/@tensorflow/tfjs/dist/tf.fesm.min.js')),
    '/model.json': files['model.json'],
    '/weights.bin': files['weights.bin'],
  });
  // The snippet's model on a fixed input (its own call runs on zeros).
  const check = `await y.data();\nwindow.got = Array.from(await model.predict(tf.tensor4d(window.input, [1, ${SIZE}, ${SIZE}, 3])).data());`;
  const got = await runSnippet(page, strFromU8(files['README.md']), { '@tensorflow/tfjs': '/tf.fesm.min.js' }, check, input);
  expect(maxDiff(got, output)).toBeLessThan(1e-4);
});

test('the ONNX zip\'s README snippet runs in a page with only onnxruntime-web, like alap does', async ({ page }) => {
  const model = await shipped();
  const files = unzipSync(await modelZip(model, 'onnx', { inputRange: '-1,1', size: SIZE }));
  const { input, output } = await reference(model);
  const dist = path.resolve('node_modules/onnxruntime-web/dist');
  await plainPage(page, {
    '/ort.wasm.min.mjs': readFileSync(path.join(dist, 'ort.wasm.min.mjs')),
    '/ort-wasm-simd-threaded.mjs': readFileSync(path.join(dist, 'ort-wasm-simd-threaded.mjs')),
    '/ort-wasm-simd-threaded.wasm': readFileSync(path.join(dist, 'ort-wasm-simd-threaded.wasm')),
    '/model.onnx': files['model.onnx'],
  });
  // The snippet's session on a fixed input: NHWC -> NCHW in, NCHW -> NHWC out.
  const check = `
const size = ${SIZE};
const nchw = new Float32Array(window.input.length);
for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) nchw[c * size * size + i] = window.input[i * 3 + c];
const data = (await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, size, size]) })).output.data;
window.got = Array.from({ length: data.length }, (_, j) => data[(j % 3) * size * size + Math.floor(j / 3)]);`;
  const got = await runSnippet(page, strFromU8(files['README.md']), { 'onnxruntime-web': '/ort.wasm.min.mjs' }, `void output;\n${check}`, input);
  expect(maxDiff(got, output)).toBeLessThan(1e-4);
});
