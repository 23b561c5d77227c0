import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../../src/core/compress/spec';
import { plannedStages } from '../../src/core/compress/stages';
import { addLossPoint, type LossHistory } from '../../src/ui/loss-history';

describe('a run plan and its loss history', () => {
  it('plans the stages a spec runs, skipping those with no steps', () => {
    const steps = (train: number, condense: number, distill: number) => ({ train, condense, distill });
    expect(plannedStages({ ...DEFAULT_SPEC, task: 'compress', steps: steps(0, 10, 10) })).toEqual(['condense', 'prune', 'distill', 'report']);
    expect(plannedStages({ ...DEFAULT_SPEC, task: 'compress', steps: steps(0, 0, 10) })).toEqual(['prune', 'distill', 'report']);
    expect(plannedStages({ ...DEFAULT_SPEC, task: 'compress', steps: steps(0, 5, 0) })).toEqual(['condense', 'prune', 'report']);
    expect(plannedStages({ ...DEFAULT_SPEC, task: 'train', steps: steps(40, 0, 0) })).toEqual(['train']);
  });

  it('keeps each stage apart and thins a long stage to its whole span at half the resolution', () => {
    let h: LossHistory = [];
    for (let step = 1; step <= 5; step++) h = addLossPoint(h, 'condense', { step, losses: { total: 0.05 } }, 4);
    for (let step = 1; step <= 3; step++) h = addLossPoint(h, 'distill', { step, losses: { total: 5 } }, 4);
    expect(h.map((s) => s.stage)).toEqual(['condense', 'distill']);
    expect(h[0].points.map((p) => p.step)).toEqual([1, 3, 5]); // 5 points > 4: every second kept, the first and the last too
    expect(h[1].points.map((p) => p.step)).toEqual([1, 2, 3]);
  });
});
