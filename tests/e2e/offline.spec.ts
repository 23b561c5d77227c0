import { expect, test } from '@playwright/test';
import { advanced, usePreset, benchOnly, show } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'offline behaviour does not depend on the backend');
});

test('after one visit the app works offline: a preset compression and a benchmark run to the end, with no request leaving the origin', async ({ page, context, baseURL }) => {
  test.setTimeout(240_000);
  const origin = new URL(baseURL!).origin;
  const external: string[] = [];
  const watch = (url: string) => {
    const u = new URL(url);
    if (u.protocol !== 'blob:' && u.protocol !== 'data:' && u.origin !== origin) external.push(url);
  };
  context.on('request', (r) => watch(r.url()));
  const violations: string[] = [];
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && violations.push(m.text()));

  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('offline-ready')).toBeVisible({ timeout: 60_000 });
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await expect(page.getByTestId('isolated')).toHaveText('yes');

  await show(page, 'compress');
  await usePreset(page, 'face-to-cartoon');
  await advanced(page);
  await page.getByTestId('run-time').fill('');
  await page.getByTestId('run-condense').fill('2');
  await page.getByTestId('run-distill').fill('2');
  await page.getByRole('button', { name: 'Compress' }).click();
  await expect(page.getByTestId('run').first()).toHaveAttribute('data-status', 'done', { timeout: 120_000 });

  await show(page, 'benchmark');
  await page.getByTestId('bench-size').fill('64');
  await page.getByTestId('bench-runs').fill('3');
  // One model (the new student is offered side by side by default) on tfjs-wasm only.
  await page.getByTestId('bench-model-b').selectOption('');
  await benchOnly(page, 'wasm');
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  await expect(page.getByTestId('bench-row')).toHaveCount(1, { timeout: 60_000 });
  expect(Number(await page.getByTestId('bench-fps').textContent())).toBeGreaterThan(0);

  expect(external).toEqual([]);
  expect(violations).toEqual([]);
});
