/** How a dataset is split for evaluation. Pure (no tfjs): the page shows the split too. */

/** The held-out images of a dataset of `n`: a tenth, at least 1 and at most 8 (a fixed split). */
export function defaultHeldOut(n: number): number {
  return Math.min(8, Math.max(1, Math.round(n / 10)));
}
