/**
 * The built-in tasks: procedural data the repo generates itself, no downloads.
 *   shapes          label shapes -> painting (paired; the bench task)
 *   mask-to-face    colour-coded face segmentation -> face (paired)
 *   face-to-cartoon face -> its cartoon-filtered version (paired)
 *   unpaired        day scenes (A) and night scenes (B), drawn independently (CycleGAN-style)
 */
import { cartoonize } from './cartoon';
import type { RawImage } from './dataset';
import { proceduralFaces } from './faces';
import { syntheticShapes } from './synthetic';
import { unpairedDomains } from './unpaired';

export const TASKS = ['shapes', 'mask-to-face', 'face-to-cartoon', 'unpaired'] as const;
export type TaskName = (typeof TASKS)[number];

export interface TaskData {
  /** paired: targets[i] belongs to inputs[i]; unpaired: two independent domains. */
  kind: 'paired' | 'unpaired';
  inputs: RawImage[];
  targets: RawImage[];
  /** Folder names for the two lists when written to disk. */
  folders: [string, string];
}

export function generateTask(task: TaskName, count: number, size: number, seed: number): TaskData {
  switch (task) {
    case 'shapes': {
      const { inputs, targets } = syntheticShapes(count, size, seed);
      return { kind: 'paired', inputs, targets, folders: ['inputs', 'targets'] };
    }
    case 'mask-to-face': {
      const faces = proceduralFaces(count, size, seed);
      return { kind: 'paired', inputs: faces.map((f) => f.labelColours), targets: faces.map((f) => f.face), folders: ['inputs', 'targets'] };
    }
    case 'face-to-cartoon': {
      const faces = proceduralFaces(count, size, seed).map((f) => f.face);
      return { kind: 'paired', inputs: faces, targets: faces.map((f) => cartoonize(f)), folders: ['inputs', 'targets'] };
    }
    case 'unpaired': {
      const { a, b } = unpairedDomains(count, size, seed);
      return { kind: 'unpaired', inputs: a, targets: b, folders: ['a', 'b'] };
    }
    default:
      throw new Error(`Unknown task '${String(task)}'; built-in tasks: ${TASKS.join(', ')}`);
  }
}
