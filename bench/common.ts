/** What the bench scripts share: timestamped logs on stderr, --quick / full settings, side-by-side latency. */
import { spawn } from 'node:child_process';
import type { Page } from '@playwright/test';
import type * as tf from '@tensorflow/tfjs';
import { measureLatency, type Latency } from '../src/core/measure/latency';

export const log = (s: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** A numeric option: the value given, else the full run's default, or the quick run's with --quick. */
export function setting<K extends string>(values: Partial<Record<K, string | boolean>>, quick: boolean) {
  return (key: K, full: number, small: number): number => Number(values[key] ?? (quick ? small : full));
}

/** The middle value (the upper middle of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median latency (ms) of each way of timing a frame, measured side by side: `rounds` interleaved
 * rounds, the median of the rounds' medians, so a machine that slows down during the measurement
 * slows every one alike.
 */
export async function sideBySide(measures: (() => Promise<Latency>)[], rounds = 3): Promise<number[]> {
  const times = measures.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, measure] of measures.entries()) times[i].push((await measure()).medianMs);
  }
  return times.map(median);
}

/** sideBySide for models: each round times `runs` frames of each (after `warmup`). */
export function sideBySideMs(models: tf.LayersModel[], shape: number[], o: { runs: number; warmup: number }): Promise<number[]> {
  return sideBySide(models.map((m) => () => measureLatency(m, shape, o)));
}

/** Runs `f` while `vite preview` serves the production build (cross-origin isolated) on `port`. */
export async function withPreview<T>(port: number, f: (origin: string) => Promise<T>): Promise<T> {
  const server = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore', detached: true });
  try {
    return await f(`http://127.0.0.1:${port}`);
  } finally {
    process.kill(-server.pid!);
  }
}

/** Opens `url` in `page`, retrying for up to 30 s while the server starts. */
export async function gotoWhenUp(page: Page, url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await page.goto(url);
      return;
    } catch (e) {
      if (i > 60) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
