/**
 * The order of a run's stages and which of them a spec runs (no tfjs: the page shows the plan as
 * a stepper).
 */
import type { RunSpec, TrainingStage } from './spec';

export type Stage = TrainingStage | 'prune' | 'report' | 'done';
const ORDER: Stage[] = ['train', 'condense', 'prune', 'distill', 'report', 'done'];

export function firstStage(spec: RunSpec): Stage {
  if (spec.steps.train > 0) return 'train';
  return spec.task === 'compress' && spec.steps.condense === 0 ? 'prune' : 'condense';
}

export function nextStage(spec: RunSpec, stage: Stage): Stage {
  if (spec.task === 'train') return 'done';
  let i = ORDER.indexOf(stage) + 1;
  while (ORDER[i] === 'train' || ((ORDER[i] === 'condense' || ORDER[i] === 'distill') && spec.steps[ORDER[i] as TrainingStage] === 0)) i++;
  return ORDER[i];
}

/** The stages `spec` runs, in order, up to (not including) done. */
export function plannedStages(spec: RunSpec): Stage[] {
  const stages: Stage[] = [];
  for (let s = firstStage(spec); s !== 'done'; s = nextStage(spec, s)) stages.push(s);
  return stages;
}

/** Stages in run order (reports list the ones that ran this way). */
export function inRunOrder(stages: Iterable<string>): Stage[] {
  const present = new Set(stages);
  return ORDER.filter((s) => present.has(s));
}
