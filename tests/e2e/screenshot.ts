/**
 * README screenshots come from the e2e tests themselves: with UPDATE_SCREENSHOTS=1 the tests save
 * what they see into docs/screenshots/ (npm run screenshots). Otherwise this does nothing.
 */
import type { Locator, Page } from '@playwright/test';

export async function screenshot(target: Page | Locator, name: string): Promise<void> {
  if (!process.env.UPDATE_SCREENSHOTS) return;
  await target.screenshot({ path: `docs/screenshots/${name}.png`, animations: 'disabled' });
}
