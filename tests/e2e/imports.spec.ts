import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { storedCounts } from './helpers';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from '../../src/cli/images';
import { proceduralFaces } from '../../src/core/data/faces';
import { cartoonize } from '../../src/core/data/cartoon';
import { saveModelToFiles } from '../../src/core/io/model-files';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';

tf.env().set('PROD', true);
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'imports do not depend on the backend');
});

function png(width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3).map((_, i) => (i * seed * 31) % 256);
  return { mimeType: 'image/png', buffer: encodePng(width, height, 3, data) };
}

test('paired import keeps the good pairs and lists every unusable file', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await page.getByTestId('import-inputs').setInputFiles([
    { name: 'a.png', ...png(16, 16, 1) },
    { name: 'b.png', ...png(16, 16, 2) },
    { name: 'c.png', mimeType: 'image/png', buffer: Buffer.from('this is not a png') },
    { name: 'd.png', ...png(16, 16, 3) },
    { name: 'e.png', ...png(16, 16, 4) },
  ]);
  await page.getByTestId('import-targets').setInputFiles([
    { name: 'a.png', ...png(16, 16, 5) },
    { name: 'b.png', ...png(16, 16, 6) },
    { name: 'c.png', ...png(16, 16, 7) },
    { name: 'd.png', ...png(8, 8, 8) },
    { name: 'zzz.png', ...png(16, 16, 9) },
  ]);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const errors = page.getByTestId('import-errors');
  await expect(errors).toContainText("'c.png' is not an image this browser can decode");
  await expect(errors).toContainText("Input 'd.png' is 16x16 but its target is 8x8");
  await expect(errors).toContainText("Input 'e.png' has no target of the same name");
  await expect(errors).toContainText("Target 'zzz.png' has no input of the same name");
  await expect(page.getByTestId('datasets')).toContainText('2 paired images');
  await expect(page.getByTestId('preview').locator('img')).toHaveCount(4);
  expect(await storedCounts(page)).toMatchObject({ datasets: 1, images: 2 });
});

test('side-by-side AB images are split into pairs', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await page.getByTestId('import-mode').selectOption('side-by-side');
  await page.getByTestId('import-inputs').setInputFiles([
    { name: 'ab1.png', ...png(32, 16, 1) },
    { name: 'ab2.png', ...png(32, 16, 2) },
    { name: 'odd.png', ...png(31, 16, 3) },
  ]);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('import-errors')).toContainText("'odd.png' is 31 px wide: a side-by-side pair needs an even width");
  await expect(page.getByTestId('datasets')).toContainText('2 paired images');
  const sizes = await page.getByTestId('preview').locator('img').evaluateAll((imgs) => imgs.map((i) => `${(i as HTMLImageElement).naturalWidth}x${(i as HTMLImageElement).naturalHeight}`));
  expect(sizes).toEqual(['16x16', '16x16', '16x16', '16x16']);
});

test('CelebAMask-style label maps become colour-coded inputs; a map with a value above the class count is left out', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  const faces = proceduralFaces(3, 16, 2);
  const labelPng = (labels: Uint8Array) => ({ mimeType: 'image/png', buffer: encodePng(16, 16, 1, labels) });
  const broken = faces[2].labels.slice();
  broken[5] = 12;
  await page.getByTestId('import-mode').selectOption('labels');
  await page.getByTestId('label-classes').fill('9');
  await page.getByTestId('import-inputs').setInputFiles([
    { name: 'f0.png', ...labelPng(faces[0].labels) },
    { name: 'f1.png', ...labelPng(faces[1].labels) },
    { name: 'f2.png', ...labelPng(broken) },
  ]);
  await page.getByTestId('import-targets').setInputFiles(faces.map((f, i) => ({ name: `f${i}.png`, mimeType: 'image/png', buffer: encodePng(16, 16, 3, f.face.data) })));
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('import-errors')).toContainText("'f2.png' has the value 12 at pixel (5, 0), not a class index below 9");
  await expect(page.getByTestId('datasets')).toContainText('2 paired images');
  // The stored input is the colour map the built-in mask -> face data uses.
  const stored = await page.getByTestId('preview').locator('img').first().evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight).getContext('2d')!;
    c.drawImage(img, 0, 0);
    return Array.from(c.getImageData(0, 0, img.naturalWidth, img.naturalHeight).data).filter((_, i) => i % 4 !== 3);
  });
  expect(stored).toEqual(Array.from(faces[0].labelColours.data));
});

test('my photos -> cartoon: each photo is centre-cropped and paired with the cartoon filter of itself', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  const face = proceduralFaces(1, 48, 4)[0].face;
  // A landscape "photo": the face in the middle, 8 px of grey either side (cropped away).
  const wide = new Uint8Array(64 * 48 * 3);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) wide.set(x >= 8 && x < 56 ? face.data.subarray((y * 48 + x - 8) * 3, (y * 48 + x - 7) * 3) : [128, 128, 128], (y * 64 + x) * 3);
  await page.getByTestId('import-mode').selectOption('cartoon');
  await page.getByTestId('cartoon-size').fill('48');
  await page.getByTestId('import-inputs').setInputFiles([
    { name: 'me.png', mimeType: 'image/png', buffer: encodePng(64, 48, 3, wide) },
    { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a jpeg') },
  ]);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page.getByTestId('import-errors')).toContainText("'broken.jpg' is not an image this browser can decode");
  await expect(page.getByTestId('datasets')).toContainText('1 paired images');
  const [input, target] = await page.getByTestId('preview').locator('img').evaluateAll((imgs) =>
    Promise.all(
      imgs.map(async (img) => {
        const i = img as HTMLImageElement;
        await i.decode();
        const c = new OffscreenCanvas(i.naturalWidth, i.naturalHeight).getContext('2d')!;
        c.drawImage(i, 0, 0);
        return Array.from(c.getImageData(0, 0, i.naturalWidth, i.naturalHeight).data).filter((_, k) => k % 4 !== 3);
      }),
    ),
  );
  expect(input).toEqual(Array.from(face.data));
  expect(target).toEqual(Array.from(cartoonize(face).data));
});

test('model import: a good model is described; broken, incomplete and unsupported ones are refused and change nothing', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await tf.setBackend('cpu');
  const good = await saveModelToFiles(buildGenerator(defaultSpec('unet', { ngf: 4, depth: 3, size: 16 })));
  const weights = { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(good.shards.get('weights.bin')!) };
  const json = (text: string) => ({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(text) });

  await page.getByTestId('import-model').setInputFiles([json(good.modelJson), weights]);
  await page.getByRole('button', { name: 'Import model' }).click();
  await expect(page.getByTestId('models').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('models')).toContainText('prunable channel groups');
  // The layer table lists every layer with its output, channel groups, MACs and params.
  expect(await page.getByTestId('model-layers').locator('tbody tr').count()).toBeGreaterThan(10);
  await expect(page.getByTestId('model-layers')).toContainText('Conv2DTranspose');

  const refused = async (files: Parameters<Page['setInputFiles']>[1], message: RegExp) => {
    await page.getByTestId('import-model').setInputFiles(files);
    await page.getByRole('button', { name: 'Import model' }).click();
    await expect(page.getByTestId('studio-error')).toContainText(message);
    expect((await storedCounts(page)).models).toBe(1);
  };
  await refused([json(good.modelJson.slice(0, 200)), weights], /model.json is not valid JSON/);
  await refused([json(good.modelJson)], /Weight shard 'weights.bin' listed in model.json is missing/);
  const input = tf.input({ shape: [16, 16, 3] });
  const flat = tf.layers.flatten({ name: 'flatten_me' }).apply(input) as tf.SymbolicTensor;
  const dense = await saveModelToFiles(tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor }));
  await refused(
    [json(dense.modelJson), { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(dense.shards.get('weights.bin')!) }],
    /Layer 'flatten_me' \(class Flatten\) is not supported/,
  );
});

test('ONNX import: a torch-style ResNet export becomes a prunable model; unsupported and truncated files are refused and change nothing', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  const onnx = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });
  const fixture = (name: string) => readFileSync(path.resolve('tests/fixtures/onnx', `${name}.onnx`));
  await page.getByTestId('import-model').setInputFiles([onnx('resnet_generator.onnx', fixture('resnet_generator'))]);
  await page.getByRole('button', { name: 'Import model' }).click();
  await expect(page.getByTestId('models').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('models')).toContainText('prunable channel groups');
  await expect(page.getByTestId('model-layers')).toContainText('InstanceNormalization');

  const refused = async (file: ReturnType<typeof onnx>, message: RegExp) => {
    await page.getByTestId('import-model').setInputFiles([file]);
    await page.getByRole('button', { name: 'Import model' }).click();
    await expect(page.getByTestId('studio-error')).toContainText(message);
    expect((await storedCounts(page)).models).toBe(1);
  };
  await refused(onnx('warp.onnx', fixture('unsupported_op')), /Node '\/Transpose' \(Transpose\): op type 'Transpose' is not supported/);
  await refused(onnx('dilated.onnx', fixture('unsupported_attr')), /Node '\/up\/ConvTranspose' \(ConvTranspose\): attribute 'dilations' other than 1 is not supported/);
  await refused(onnx('cut.onnx', fixture('resnet_generator').subarray(0, 30000)), /Not a readable ONNX file/);
});

test('a full disk (quota exceeded) is explained and keeps what was saved', async ({ page, context, baseURL }) => {
  // The quota is set before the app opens its database (a connection opened earlier kept the old one).
  const cdp = await context.newCDPSession(page);
  const origin = new URL(baseURL!).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 96 * 1024 });
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await page.getByLabel('Pairs').fill('4');
  await page.getByLabel('Size', { exact: true }).fill('16');
  await page.getByRole('button', { name: 'Generate dataset' }).click();
  await expect(page.getByTestId('datasets').locator('li')).toHaveCount(1, { timeout: 60_000 });
  const before = await storedCounts(page);

  await page.getByLabel('Pairs').fill('200');
  await page.getByLabel('Size', { exact: true }).fill('64');
  await page.getByRole('button', { name: 'Generate dataset' }).click();
  await expect(page.getByTestId('studio-error')).toContainText('Not enough storage to save the dataset', { timeout: 120_000 });
  // How many 16-image chunks fit before the quota is hit depends on what else the origin stores by
  // then (the service worker's cache fills in the background), so either nothing new is kept, or
  // the chunks written so far are kept as an incomplete dataset whose record matches its images.
  const after = await storedCounts(page);
  const kept = await page.evaluate(async () => {
    const open = indexedDB.open('alap-studio');
    const db: IDBDatabase = await new Promise((resolve) => (open.onsuccess = () => resolve(open.result)));
    const all = <T,>(store: string) =>
      new Promise<T[]>((resolve) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => resolve(r.result as T[]);
      });
    const datasets = await all<{ id: string; name: string; count: number; complete?: boolean }>('datasets');
    const images = await all<{ datasetId: string }>('images');
    db.close();
    return datasets.filter((d) => d.name.startsWith('Shapes -> painting (200')).map((d) => ({ count: d.count, complete: d.complete, stored: images.filter((i) => i.datasetId === d.id).length }));
  });
  if (kept.length === 0) {
    expect(after).toEqual(before);
  } else {
    expect(kept).toHaveLength(1);
    expect(kept[0].complete).toBe(false);
    expect(kept[0].count % 16).toBe(0);
    expect(kept[0].stored).toBe(kept[0].count);
    expect(after).toEqual({ ...before, datasets: before.datasets + 1, images: before.images + kept[0].count });
    await expect(page.getByTestId('datasets')).toContainText('incomplete: its generation was cut off');
  }
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
});

test('fuzz: a batch of malformed images and model files gives one reason per file and changes nothing stored', async ({ page }) => {
  await page.goto('/?backend=wasm#/compress');
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  const good = png(16, 16, 1);
  const bomb = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]).copy(bomb);
  bomb.writeUInt32BE(20000, 16);
  bomb.writeUInt32BE(20000, 20);
  let seed = 7;
  const noise = Buffer.from(Array.from({ length: 300 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256));
  const bad = [
    { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
    { name: 'noise.png', mimeType: 'image/png', buffer: noise },
    { name: 'cut.png', mimeType: 'image/png', buffer: good.buffer.subarray(0, 40) },
    { name: 'bomb.png', mimeType: 'image/png', buffer: bomb },
    { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a jpeg at all') },
  ];
  await page.getByTestId('import-mode').selectOption('unpaired');
  await page.getByTestId('import-inputs').setInputFiles([...bad, { name: 'a.png', ...good }, { name: 'a.jpg', ...png(16, 16, 2) }]);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const errors = page.getByTestId('import-errors');
  await expect(errors).toContainText('6 files left out');
  await expect(errors).toContainText("'empty.png' is not an image this browser can decode (the file is empty)");
  await expect(errors).toContainText("'noise.png' is not an image this browser can decode");
  await expect(errors).toContainText("'cut.png' is not an image this browser can decode");
  await expect(errors).toContainText("'bomb.png' is 20000x20000 pixels");
  await expect(errors).toContainText("'notes.jpg' is not an image this browser can decode");
  await expect(errors).toContainText("Image 'a.jpg' has the same name as 'a.png'; it was left out");
  await expect(page.getByTestId('datasets')).toContainText('1 unpaired images');
  const before = await storedCounts(page);

  // Only malformed files: nothing is stored.
  await page.getByTestId('import-inputs').setInputFiles(bad);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(errors).toContainText('5 files left out');
  expect(await storedCounts(page)).toEqual(before);

  // Malformed model files, one at a time: each refused with its reason, no model stored.
  const weights = { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(8) };
  const json = (text: string) => ({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  const cases: [ReturnType<typeof json>, string][] = [
    [json(''), 'is not valid JSON'],
    [json('{"modelTopology": 3}'), "has no 'modelTopology'"],
    [json('{"format":"graph-model","modelTopology":{}}'), 'is a tfjs graph model'],
    [json('{"modelTopology":{},"weightsManifest":[{"paths":["weights.bin"],"weights":[{"name":"w","shape":["x"],"dtype":"float32"}]}]}'), 'has an invalid shape'],
    [json('{"modelTopology":{},"weightsManifest":[{"paths":["weights.bin"],"weights":[{"name":"w","shape":[1e6,1e6],"dtype":"float32"}]}]}'), 'models over 1 GiB are refused'],
    [json('{"modelTopology":{},"weightsManifest":[{"paths":["weights.bin"],"weights":[{"name":"w","shape":[4],"dtype":"float32"}]}]}'), '8 bytes short'],
  ];
  for (const [file, reason] of cases) {
    await page.getByTestId('import-model').setInputFiles([file, weights]);
    await page.getByRole('button', { name: 'Import model' }).click();
    await expect(page.getByTestId('studio-error')).toContainText(reason);
  }
  expect(await storedCounts(page)).toEqual(before);
});
