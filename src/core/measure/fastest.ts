/**
 * Which of several ways of computing the same frames is fastest on this device: each one's
 * measurer (median ms per frame) runs in interleaved rounds, and the lowest median over the rounds
 * wins. The measurers are injected, so the choice is tested with scripted figures, not clocks.
 */
export interface FastestChoice<N extends string> {
  chosen: N;
  /** Each candidate's median over the rounds, ms per frame. */
  medianMs: Record<N, number>;
}

export async function fastestOf<N extends string>(measurers: Record<N, () => Promise<number>>, rounds = 2): Promise<FastestChoice<N>> {
  const names = Object.keys(measurers) as N[];
  if (!names.length) throw new Error('Nothing to choose from');
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<N, number[]>;
  for (let r = 0; r < rounds; r++) for (const n of names) times[n].push(await measurers[n]());
  const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor((t.length - 1) / 2)];
  const medianMs = Object.fromEntries(names.map((n) => [n, median(times[n])])) as Record<N, number>;
  const chosen = names.reduce((best, n) => (medianMs[n] < medianMs[best] ? n : best));
  return { chosen, medianMs };
}
