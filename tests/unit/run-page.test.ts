import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../../src/core/compress/spec';
import { plannedStages } from '../../src/core/compress/stages';
import { addLossPoint, lossSeries, type LossHistory } from '../../src/ui/loss-history';
import { verdictOf } from '../../src/ui/verdict';
import { fpsOf, goalOf, goalSettings, settingsLine } from '../../src/ui/goals';

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

describe('the Compress page goals', () => {
  it('each goal sets its budget and time, and is recognised from them again', () => {
    expect(goalSettings('quick')).toEqual({ budget: 'macs=0.25', time: 60, condense: 0 });
    expect(goalSettings('good')).toEqual({ budget: 'macs=0.1', time: 600, condense: 0 });
    expect(goalSettings('fps', 45)).toEqual({ budget: 'fps=45@256', time: 300, condense: 0 });
    for (const g of ['quick', 'good', 'fps'] as const) expect(goalOf(goalSettings(g, 24))).toBe(g);
  });

  it('settings edited under Advanced make the goal custom', () => {
    expect(goalOf({ ...goalSettings('good'), time: 900 })).toBe('custom');
    expect(goalOf({ ...goalSettings('quick'), condense: 20 })).toBe('custom');
    expect(goalOf({ budget: 'fps=30@128', time: 300, condense: 0 })).toBe('custom');
    expect(goalOf({ budget: 'macs=0.25', time: null, condense: 0 })).toBe('custom');
  });

  it('reads the frame rate of an FPS budget and says in a line what will run', () => {
    expect(fpsOf('fps=30@256')).toBe(30);
    expect(fpsOf('fps=12.5@256')).toBe(12.5);
    expect(fpsOf('macs=0.1')).toBeNull();
    expect(settingsLine({ budget: 'macs=0.1', time: 600, condense: 0, distill: 60 })).toBe('macs=0.1 · 600 s');
    expect(settingsLine({ budget: 'macs=0.25', time: null, condense: 10, distill: 60 })).toBe('macs=0.25 · 10 condensation + 60 distillation steps');
    expect(settingsLine({ budget: '', time: null, condense: 0, distill: 5 })).toBe('no budget (a threshold prunes) · 5 distillation steps');
  });
});
