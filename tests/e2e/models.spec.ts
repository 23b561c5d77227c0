import { expect, test } from '@playwright/test';
import { show } from './helpers';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'webgpu', 'the graph is read on the CPU backend whatever the device');
});

test('the Models page draws the shipped base layer by layer and what pruning removed for its real-time student', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await show(page, 'models');
  await expect(page.getByTestId('models-model').locator('option:checked')).toHaveText('Face → cartoon base (shipped)');
  await expect(page.getByTestId('models-pruned').locator('option:checked')).toHaveText('Face → cartoon real-time student (shipped)');
  const layers = page.getByTestId('models-layer');
  await expect(layers.first()).toHaveAttribute('data-layer', 'input', { timeout: 30_000 });
  // The stored layers, batch norms included (not the inference copy with them folded away).
  await expect(page.locator('[data-layer="stem_norm"]')).toContainText('BatchNormalization');
  // 4 residual blocks: 4 skip arcs beside the boxes.
  await expect(page.getByTestId('models-skip')).toHaveCount(4);
  // The student is narrower: the first convolution lost channels, and the summary counts them.
  await expect(page.locator('[data-layer="stem_conv"]').getByTestId('models-channels')).toHaveText(/^16 → \d+$/);
  await expect(page.getByTestId('models-summary')).toContainText(/keeps\s+\d+ of \d+ convolution channels, [\d.]+ M MACs \([\d.]+x fewer\)/);
  // Without a pruned copy: plain widths.
  await page.getByTestId('models-pruned').selectOption('');
  await expect(page.locator('[data-layer="stem_conv"]').getByTestId('models-channels')).toHaveText('16');
  await expect(page.getByTestId('models-summary')).toContainText('1.52 G MACs');
  // A student of another network is refused with what differs, not drawn as a pruning.
  await page.getByTestId('models-model').selectOption('shipped-mask-to-face');
  await page.getByTestId('models-pruned').selectOption('shipped-realtime-face-to-cartoon');
  await expect(page.getByTestId('models-error')).toContainText('is not a pruned copy of');
  expect(errors).toEqual([]);
});
