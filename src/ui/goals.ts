/**
 * The Compress page's goals: a newcomer picks what they want (a quick look, a good student, a
 * frame rate) and the goal fills in the budget and the time; the detailed settings stay under
 * Advanced, and editing them makes the goal "custom".
 */
import { parseBudget } from '../core/compress/budget';
export type Goal = 'quick' | 'good' | 'fps' | 'custom';

export interface GoalSettings {
  budget: string;
  /** Wall time of the run in seconds; null: the step counts decide. */
  time: number | null;
  condense: number;
}

/** The frame size an FPS goal is measured at (the live demo's). */
export const GOAL_FPS_SIZE = 256;

export const GOALS: Record<Exclude<Goal, 'custom'>, { label: string; hint: string }> = {
  quick: { label: 'Quick look', hint: '4x fewer multiply-adds in one minute: to see the loop work' },
  good: { label: 'Good student', hint: '10x fewer multiply-adds with 10 minutes of distillation (quality keeps growing with time)' },
  fps: { label: 'Frame rate', hint: `as small as it must be to run at the frame rate you ask, at ${GOAL_FPS_SIZE} px on this device (measured), in 5 minutes` },
};

/** The settings a goal sets (`fps`: the frame rate asked for). */
export function goalSettings(goal: Exclude<Goal, 'custom'>, fps = 30): GoalSettings {
  if (goal === 'quick') return { budget: 'macs=0.25', time: 60, condense: 0 };
  if (goal === 'good') return { budget: 'macs=0.1', time: 600, condense: 0 };
  return { budget: `fps=${fps}@${GOAL_FPS_SIZE}`, time: 300, condense: 0 };
}

/** The goal these settings are, or 'custom' when they are none of them. */
export function goalOf(s: GoalSettings): Goal {
  for (const goal of ['quick', 'good'] as const) {
    const g = goalSettings(goal);
    if (s.budget === g.budget && s.time === g.time && s.condense === g.condense) return goal;
  }
  const fps = fpsOf(s.budget);
  if (fps !== null && s.time === 300 && s.condense === 0) return 'fps';
  return 'custom';
}

/** The frame rate of a valid `fps=N@256` budget, else null. */
export function fpsOf(budget: string): number | null {
  try {
    const b = parseBudget(budget);
    return b.kind === 'fps' && b.size === GOAL_FPS_SIZE ? b.fps : null;
  } catch {
    return null; // not a budget at all: the run form's schema says why when it is submitted
  }
}

/** What will run, in a line: "macs=0.1 · 600 s" or "macs=0.25 · 60 distillation steps". */
export function settingsLine(s: GoalSettings & { distill: number }): string {
  const budget = s.budget || 'no budget (a threshold prunes)';
  const length = s.time ? `${s.time} s` : `${s.condense ? `${s.condense} condensation + ` : ''}${s.distill} distillation steps`;
  return `${budget} · ${length}`;
}
