import { expect, test, type Page } from '@playwright/test';
import { advanced, usePreset } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'checkpoint writes do not depend on the backend');
});

/** The run's checkpoint as stored: its pointer's file list against the files actually there. */
async function checkpointState(page: Page) {
  return page.evaluate(async () => {
    const open = indexedDB.open('alap-studio');
    const db: IDBDatabase = await new Promise((resolve) => (open.onsuccess = () => resolve(open.result)));
    const all = <T,>(store: string) =>
      new Promise<T[]>((resolve) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => resolve(r.result as T[]);
      });
    const pointers = await all<{ runId: string; files: string[]; state: { stage: string; step: number } }>('checkpoints');
    const files = await all<{ runId: string; name: string; data: Uint8Array }>('checkpointFiles');
    db.close();
    return pointers.map((p) => {
      const stored = files.filter((f) => f.runId === p.runId);
      return {
        missing: p.files.filter((name) => !stored.some((f) => f.name === name && f.data.byteLength > 0)),
        leftover: stored.filter((f) => !p.files.includes(f.name)).map((f) => f.name),
        at: `${p.state.stage} ${p.state.step}`,
      };
    });
  });
}

test('closing the tab again and again while checkpoints are written never leaves a broken checkpoint; the run resumes and completes', async ({ context }) => {
  test.setTimeout(600_000);
  let page = await context.newPage();
  await page.goto('/?backend=wasm#/compress');
  await usePreset(page, 'face-to-cartoon');
  // A checkpoint after every step: the worker spends most of its time inside checkpoint
  // transactions (models, Adam state: megabytes each), so a close lands in one most of the time.
  await advanced(page);
  await page.getByTestId('run-time').fill('');
  await page.getByTestId('run-condense').fill('30');
  await page.getByTestId('run-distill').fill('30');
  await page.getByTestId('run-checkpoint').fill('1');
  await page.getByRole('button', { name: 'Compress' }).click();
  const seen: string[] = [];
  for (let kill = 0; kill < 4; kill++) {
    // Wait until a checkpoint later than the last one seen is stored (the UI shows a step before
    // its checkpoint is written, so the step on screen is not enough), then close a moment later
    // so the close is likely to land inside the next checkpoint's transaction.
    await expect.poll(async () => (await checkpointState(page))[0]?.at ?? 'none', { timeout: 180_000, intervals: [100] }).not.toMatch(new RegExp(`^(none|condense 0|${seen.at(-1) ?? 'none'})$`));
    await page.waitForTimeout(150 + 170 * kill);
    await page.close();
    page = await context.newPage();
    await page.goto('/?backend=wasm#/runs');
    const [state] = await checkpointState(page);
    expect(state.missing).toEqual([]);
    expect(state.leftover).toEqual([]);
    seen.push(state.at);
    const run = page.getByTestId('run').first();
    await expect(run).toHaveAttribute('data-status', 'interrupted', { timeout: 30_000 });
    await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
    await run.getByTestId('resume').click();
    await expect(page.getByTestId('run-progress')).toBeVisible({ timeout: 60_000 });
  }
  // Each close found a later checkpoint: progress was kept, not restarted.
  expect(new Set(seen).size).toBe(seen.length);
  await expect(page.getByTestId('run').first()).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('run').first().getByTestId('report')).toBeVisible();
  expect(await checkpointState(page)).toEqual([]); // cleared once the run is done
});
