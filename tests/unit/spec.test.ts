import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, parseRunSpec, SPEC_BEFORE_FIELDS, TRAIN_RECIPE } from '../../src/core/compress/spec';

describe('parseRunSpec: one schema for every run spec', () => {
  it('takes the defaults, the training recipe and specs stored before later fields', () => {
    expect(parseRunSpec(DEFAULT_SPEC, 'x')).toEqual(DEFAULT_SPEC);
    const { lr, ...recipe } = TRAIN_RECIPE;
    expect(parseRunSpec({ ...DEFAULT_SPEC, ...recipe, task: 'train', lr: { ...DEFAULT_SPEC.lr, train: lr } }, 'x').ema).toBe(0.999);
    expect(parseRunSpec({ ...DEFAULT_SPEC, ...SPEC_BEFORE_FIELDS }, 'x').schedule.decay).toBe('constant');
    for (const budget of ['macs=0.1', 'params=0.5', 'threshold=0.001', 'fps=30@256', null]) expect(parseRunSpec({ ...DEFAULT_SPEC, budget }, 'x').budget).toBe(budget);
  });

  it('refuses with one sentence naming the source and every wrong field', () => {
    const bad = { ...DEFAULT_SPEC, size: 'big', steps: { ...DEFAULT_SPEC.steps, distill: 2.5 }, budget: 'fps=0', schedule: { warmup: 2, decay: 'cosine' }, extra: 1 };
    expect(() => parseRunSpec(bad, 'The form')).toThrow(
      'The form is not a valid run spec: size: Invalid type: Expected number but received "big"; steps.distill must be a whole number (got 2.5); schedule.warmup must be at most 1 (got 2); budget: An FPS budget must be in (0, 1000], got 0; unknown key \'extra\'',
    );
    const { seed: _, ...noSeed } = DEFAULT_SPEC;
    expect(() => parseRunSpec(noSeed, 'The stored run')).toThrow('The stored run is not a valid run spec: seed is missing');
    expect(() => parseRunSpec(null, 'x')).toThrow('x is not a valid run spec: the spec: Invalid type: Expected Object but received null');
    expect(() => parseRunSpec({ ...DEFAULT_SPEC, selection: 'magnitude', channelMultiple: 8 }, 'x')).toThrow(
      'x is not a valid run spec: the spec: a channelMultiple above 1 needs selection importance',
    );
    expect(() => parseRunSpec({ ...DEFAULT_SPEC, budget: 'threshold=0.01', channelMultiple: 8 }, 'x')).toThrow('x is not a valid run spec: the spec: a channelMultiple above 1 needs a macs, params or fps budget');
    expect(() => parseRunSpec({ ...DEFAULT_SPEC, budget: null, channelMultiple: 8 }, 'x')).toThrow('needs a macs, params or fps budget');
    // A budget that does not parse is reported by its field, not thrown from the multiple's check.
    expect(() => parseRunSpec({ ...DEFAULT_SPEC, budget: 'macs=2', channelMultiple: 8 }, 'x')).toThrow('x is not a valid run spec: budget: A macs budget is the fraction to keep, in (0, 1]; got 2');
    expect(parseRunSpec({ ...DEFAULT_SPEC, budget: 'macs=0.1', channelMultiple: 8 }, 'x').channelMultiple).toBe(8);
  });
});
