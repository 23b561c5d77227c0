import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../../src/core/compress/spec';
import { plannedStages } from '../../src/core/compress/stages';
import { addLossPoint, lossSeries, type LossHistory } from '../../src/ui/loss-history';
import { verdictOf } from '../../src/ui/verdict';

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

  it('draws a line per loss term over the steps, the total bold', () => {
    const series = lossSeries([{ step: 1, losses: { total: 3, output: 1 } }, { step: 2, losses: { total: 2, output: 0.5, feature: 1.5 } }]);
    expect(series.map((s) => [s.label, s.bold])).toEqual([['total', true], ['output', false], ['feature', false]]);
    expect(series[1].points).toEqual([{ x: 1, y: 1 }, { x: 2, y: 0.5 }]);
    // A term missing at a step gives a non-finite point, which the chart leaves out.
    expect(series[2].points[0].y).toBeUndefined();
  });
});

describe('the verdict on a finished compression', () => {
  const report = (psnr: number, distillSteps: number) => ({ studentVsOriginal: { psnr, ssim: 0.9 }, macs: { before: 10, after: 1, ratio: 10 }, latency: { before: { medianMs: 4 } as never, after: { medianMs: 1 } as never, speedup: 4 }, distillSteps });
  it('reads the PSNR against the original in words and says what to try', () => {
    expect(verdictOf(report(31, 300))).toEqual({ level: 'good', text: 'Close to the original (31.0 dB): hard to tell apart side by side, at 10.0x fewer MACs, 4.00x faster here.' });
    expect(verdictOf(report(27, 5000)).level).toBe('fair');
    expect(verdictOf(report(27, 5000)).text).toContain('A smaller compression');
    expect(verdictOf(report(15.9, 20))).toMatchObject({ level: 'poor' });
    expect(verdictOf(report(15.9, 20)).text).toContain('Only 20 distillation steps ran');
  });
});
