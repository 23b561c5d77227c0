import { describe, expect, it } from 'vitest';
import type { TaskName } from '../../src/core/data/tasks';
import { defaultCompressed, defaultOriginal, keptChoice, newStudent, type ModelChoice } from '../../src/ui/studio';

const shipped = (task: TaskName, compressed: boolean): ModelChoice => ({
  key: `shipped-${compressed ? 'realtime-' : ''}${task}`,
  label: `${task} ${compressed ? 'real-time student' : 'base'} (shipped)`,
  source: { kind: 'url', url: `models/${task}/`, name: task },
  compressed,
  task,
});
const SHIPPED = (['mask-to-face', 'face-to-cartoon'] as const).flatMap((t) => [shipped(t, false), shipped(t, true)]);

describe("the studio's model pickers", () => {
  it('start with the face -> cartoon base and its own real-time student, not the first student listed', () => {
    const original = defaultOriginal(SHIPPED);
    expect(original).toBe('shipped-face-to-cartoon');
    expect(defaultCompressed(SHIPPED, original)).toBe('shipped-realtime-face-to-cartoon');
    expect(defaultCompressed(SHIPPED, 'shipped-mask-to-face')).toBe('shipped-realtime-mask-to-face');
  });

  it('prefer the newest model compressed here, and keep a choice whose key changed with its task', () => {
    const mine: ModelChoice = { key: 'm1', label: 'cartoon · macs 0.25 · 07:43 (student)', source: { kind: 'stored', id: 'm1' }, compressed: true };
    expect(defaultCompressed([mine, ...SHIPPED], 'shipped-face-to-cartoon')).toBe('m1');
    expect(defaultCompressed([], '')).toBe('');
    const stored: ModelChoice = { ...shipped('face-to-cartoon', false), key: 'p1', source: { kind: 'stored', id: 'p1' } };
    // Once stored, the shipped base is listed under its record's key.
    expect(keptChoice(SHIPPED, [stored, ...SHIPPED.filter((c) => c.key !== 'shipped-face-to-cartoon')], 'shipped-face-to-cartoon')).toBe('p1');
  });

  it('switch to a student stored since the last read, but not on the first read', () => {
    const mine: ModelChoice = { key: 'm1', label: 'mine (student)', source: { kind: 'stored', id: 'm1' }, compressed: true };
    expect(newStudent(SHIPPED, [mine, ...SHIPPED])).toBe('m1');
    expect(newStudent([mine, ...SHIPPED], [mine, ...SHIPPED])).toBeUndefined();
    expect(newStudent([], [mine, ...SHIPPED])).toBeUndefined();
  });
});
