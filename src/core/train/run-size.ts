/**
 * Sizing a training run to this device: how many steps fit a wall-time budget, and which batch
 * size trains fastest here. Pure logic (no tfjs), so the page can use it; like every decision from
 * measured time, the measurement is a parameter (`ThroughputMeasurer`): throughput.ts times real
 * optimizer steps, tests pass a scripted one.
 */

/** Training images per second at a batch size. */
export type ThroughputMeasurer = (batch: number) => Promise<number>;

export interface BatchChoice {
  batch: number;
  imagesPerSecond: number;
  table: { batch: number; imagesPerSecond: number }[];
}

/**
 * The candidate with the most images per second. Larger batches are only taken when they are
 * clearly faster (5%), since at equal speed smaller batches take more optimizer steps.
 */
export async function fastestBatch(candidates: number[], measure: ThroughputMeasurer): Promise<BatchChoice> {
  if (!candidates.length) throw new Error('No batch sizes to choose from');
  const table: BatchChoice['table'] = [];
  for (const batch of [...candidates].sort((a, b) => a - b)) table.push({ batch, imagesPerSecond: await measure(batch) });
  const best = table.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond * 1.05 ? b : a));
  return { ...best, table };
}

/** Steps that fit in `seconds` at `stepsPerSecond`, keeping a small reserve for checkpoints and evaluation. */
export function stepsForTime(seconds: number, stepsPerSecond: number): number {
  if (!(seconds > 0)) throw new Error(`A time budget must be a positive number of seconds, got ${seconds}`);
  return Math.max(1, Math.floor(seconds * stepsPerSecond * 0.95));
}
