/** The losses a run reported, kept per stage and thinned so a long run's chart stays small. */
export interface LossPoint {
  step: number;
  losses: Record<string, number>;
}
export type LossHistory = { stage: string; points: LossPoint[] }[];

/**
 * `history` with `point` of `stage` added. A stage keeps at most `perStage` points: when full,
 * every second one is dropped, so the curve keeps its whole span at half the resolution.
 */
export function addLossPoint(history: LossHistory, stage: string, point: LossPoint, perStage = 300): LossHistory {
  const last = history.at(-1);
  if (!last || last.stage !== stage) return [...history, { stage, points: [point] }];
  let points = [...last.points, point];
  if (points.length > perStage) points = points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
  return [...history.slice(0, -1), { stage, points }];
}

/** One stage's points as a line per loss term (the total drawn bold), for LineChart. */
export function lossSeries(points: LossPoint[]): { label: string; points: { x: number; y: number }[]; bold: boolean }[] {
  const terms = [...new Set(points.flatMap((p) => Object.keys(p.losses)))];
  return terms.map((term) => ({ label: term, bold: term === 'total', points: points.map((p) => ({ x: p.step, y: p.losses[term] })) }));
}
