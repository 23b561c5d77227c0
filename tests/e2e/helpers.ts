import { expect, type Page } from '@playwright/test';
import { PRESETS, type PresetTask } from '../../src/core/models/presets';

/** Shows one of the studio's pages by its link in the header (as a user does). */
export async function show(page: Page, name: 'home' | 'compress' | 'runs' | 'models' | 'live' | 'benchmark' | 'storage' | 'device') {
  await page.locator(`header a[href="#/${name}"]`).click();
  await expect(page).toHaveURL(new RegExp(`#/${name}$`));
}

/** Opens the studio's Compress page (with `query`, e.g. backend=wasm) and adds 12 16-px pairs and a tiny ResNet. */
export async function prepare(page: Page, query: string) {
  await page.goto(`/?${query}#/compress`);
  await addTinyDataAndModel(page, 0);
}

/** Adds 12 16-px pairs of the shapes task and a tiny ResNet to a studio holding `stored` of each, and picks them. */
export async function addTinyDataAndModel(page: Page, stored: number) {
  await page.getByLabel('Pairs').fill('12');
  await page.getByLabel('Size', { exact: true }).fill('16');
  await page.getByRole('button', { name: 'Generate dataset' }).click();
  await expect(page.getByTestId('datasets').locator('li')).toHaveCount(stored + 1, { timeout: 60_000 });
  await page.getByLabel('Width (ngf)').fill('4');
  await page.getByLabel('Blocks / depth').fill('1');
  await page.getByRole('button', { name: 'Add zoo model' }).click();
  await expect(page.getByTestId('models').locator('li')).toHaveCount(stored + 1, { timeout: 60_000 });
  await page.getByTestId('run-dataset').selectOption({ label: 'Shapes -> painting (12 x 16px)' });
  await page.getByTestId('run-model').selectOption({ label: 'resnet ngf=4 depth=1' });
  await page.getByLabel('Crop size').fill('16');
}

/** Unfolds the compression form's Advanced settings (budget, steps, time, checkpoints…). */
export async function advanced(page: Page) {
  const details = page.getByTestId('run-advanced');
  if (!(await details.evaluate((d: HTMLDetailsElement) => d.open))) await details.locator('summary').click();
}

/** Steps, checkpoint interval and a macs=0.5 budget in the compression form (no time budget: the steps decide). */
export async function configure(page: Page, condense: number, distill: number, checkpoint: number) {
  await advanced(page);
  await page.getByTestId('run-time').fill('');
  await page.getByTestId('run-condense').fill(String(condense));
  await page.getByTestId('run-distill').fill(String(distill));
  await page.getByTestId('run-checkpoint').fill(String(checkpoint));
  await page.getByTestId('run-budget').fill('macs=0.5');
}

/** Loads a preset with 12 generated images and waits until it is loaded and the form is set from it. */
export async function usePreset(page: Page, task: PresetTask) {
  await page.getByTestId('preset-task').selectOption(task);
  await page.getByTestId('preset-images').fill('12');
  await page.getByRole('button', { name: 'Use preset' }).click();
  await expect(page.getByTestId('models')).toContainText(`${PRESETS[task].label} base (shipped)`, { timeout: 60_000 });
  // The model shows as soon as it is stored; the data follows, then the form takes the preset's settings.
  await expect(page.locator('section[aria-label="Studio"] .busy')).toHaveCount(0, { timeout: 60_000 });
}

/** Checks only the Benchmark's backend `id` (webgpu, wasm, wasm-1, ort, ort-1, webgl, cpu). */
export async function benchOnly(page: Page, id: string) {
  for (const other of ['webgpu', 'wasm', 'wasm-1', 'ort', 'ort-1', 'webgl', 'cpu']) {
    const box = page.getByTestId(`bench-backend-${other}`);
    if (await box.count()) await box.setChecked(other === id);
  }
}

/** Live's worker keeps the same tensor count while `frames` more frames are shown (nothing leaks per frame). */
export async function expectLiveTensorsFlat(page: Page, frames: number) {
  const tensors = async () => Number(await page.getByTestId('live-tensors').textContent());
  await expect.poll(tensors, { timeout: 30_000 }).toBeGreaterThan(0);
  const early = await tensors();
  const shown = Number(await page.getByTestId('live-shown').textContent());
  await expect.poll(async () => Number(await page.getByTestId('live-shown').textContent()), { timeout: 60_000 }).toBeGreaterThan(shown + frames);
  expect(await tensors()).toBe(early);
}

/** How many records each IndexedDB store of the studio holds, read in the page. */
export async function storedCounts(page: Page) {
  return page.evaluate(async () => {
    const open = indexedDB.open('alap-studio');
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const count = (store: string) =>
      new Promise<number>((resolve) => {
        const r = db.transaction(store).objectStore(store).count();
        r.onsuccess = () => resolve(r.result);
      });
    const result = { datasets: await count('datasets'), images: await count('images'), models: await count('models'), runs: await count('runs'), checkpointFiles: await count('checkpointFiles') };
    db.close();
    return result;
  });
}
