/**
 * The built-in tasks: procedural data the repo generates itself, no downloads.
 *   shapes          label shapes -> painting (paired; the bench task)
 *   mask-to-face    colour-coded face segmentation -> face (paired)
 *   face-to-cartoon face -> its cartoon-filtered version (paired)
 *   unpaired        day scenes (A) and night scenes (B), drawn independently (CycleGAN-style)
 */
import { cartoonize } from './cartoon';
import type { RawImage } from './dataset';
import { renderFace } from './faces';
import { syntheticShapePair } from './synthetic';
import { nightStyle, NIGHT_SEED_OFFSET } from './unpaired';
import { Rng } from '../train/rng';

export const TASKS = ['shapes', 'mask-to-face', 'face-to-cartoon', 'unpaired'] as const;
export type TaskName = (typeof TASKS)[number];

/** Each task in a word or two, as run names use it ("cartoon · macs 0.25 · 07:43"). */
export const TASK_SHORT_NAMES: Record<TaskName, string> = { shapes: 'shapes', 'mask-to-face': 'mask → face', 'face-to-cartoon': 'cartoon', unpaired: 'day → night' };

export interface TaskData {
  /** paired: targets[i] belongs to inputs[i]; unpaired: two independent domains. */
  kind: 'paired' | 'unpaired';
  inputs: RawImage[];
  targets: RawImage[];
  /** Folder names for the two lists when written to disk. */
  folders: [string, string];
}

export const taskKind = (task: TaskName): TaskData['kind'] => (task === 'unpaired' ? 'unpaired' : 'paired');
export const taskFolders = (task: TaskName): [string, string] => (task === 'unpaired' ? ['a', 'b'] : ['inputs', 'targets']);

export function checkTask(task: string): TaskName {
  if (!TASKS.includes(task as TaskName)) throw new Error(`Unknown task '${task}'; built-in tasks: ${TASKS.join(', ')}`);
  return task as TaskName;
}

/**
 * The task's images one item at a time, endlessly: [input, target] for paired tasks, [A image,
 * B image] (unrelated) for the unpaired one. Lazy, so a large dataset can be generated and stored
 * in chunks; the first `n` items are the same however they are drawn.
 */
export function* taskItems(task: TaskName, size: number, seed: number): Generator<[RawImage, RawImage]> {
  checkTask(task);
  const rng = new Rng(seed);
  const night = new Rng(seed + NIGHT_SEED_OFFSET);
  for (let i = 0; ; i++) {
    const id = String(i).padStart(4, '0');
    if (task === 'shapes') {
      const { input, target } = syntheticShapePair(size, rng, `shapes-${id}`);
      yield [input, target];
    } else if (task === 'unpaired') {
      const day = syntheticShapePair(size, rng, `day-${id}`).target;
      yield [day, nightStyle(syntheticShapePair(size, night, `night-${id}`).target)];
    } else {
      const face = renderFace(size, rng, `face-${id}`);
      yield task === 'mask-to-face' ? [face.labelColours, face.face] : [face.face, cartoonize(face.face)];
    }
  }
}

export function generateTask(task: TaskName, count: number, size: number, seed: number): TaskData {
  const items = taskItems(task, size, seed);
  const pairs = Array.from({ length: count }, () => items.next().value as [RawImage, RawImage]);
  return { kind: taskKind(task), inputs: pairs.map((p) => p[0]), targets: pairs.map((p) => p[1]), folders: taskFolders(task) };
}
