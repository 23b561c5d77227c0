/**
 * Presets for the paper's three tasks: the built-in data, the base model's architecture and
 * resolution, where its trained weights ship (public/models/<task>, trained by
 * bench/train-presets.ts), and first-run settings that finish in minutes on a laptop CPU.
 * Plain data: the page, the worker, the CLI and the bench script all read it.
 */
import type { TaskName } from '../data/tasks';

export type PresetTask = Exclude<TaskName, 'shapes'>;

export interface Preset {
  task: PresetTask;
  label: string;
  /** What the model learns, shown next to the choice. */
  summary: string;
  arch: 'resnet';
  ngf: number;
  blocks: number;
  /** Stride-2 down-samplings before the blocks (the ResNet generator has 2). */
  downsamplings: number;
  norm: 'instance' | 'batch';
  /** Training and compression resolution (square). */
  size: number;
  /** The shipped base model's folder, relative to the app root (or the repo's public/). */
  modelDir: string;
  /**
   * A real-time student of that base shipped next to it (bench/realtime-students.ts), so Live
   * starts at real time before the user compresses anything; absent where none ships.
   */
  realtimeDir?: string;
  /** How many images a first dataset has, and how long a first compression runs. */
  images: number;
  compress: { budget: string; condense: number; distill: number };
}

const common = { arch: 'resnet' as const, ngf: 16, blocks: 6, downsamplings: 2, norm: 'instance' as const, size: 64, images: 160, compress: { budget: 'macs=0.25', condense: 0, distill: 300 } };

export const PRESETS: Record<PresetTask, Preset> = {
  'mask-to-face': { ...common, realtimeDir: 'models/mask-to-face-realtime', task: 'mask-to-face', label: 'Segmentation mask → face', summary: 'colour-coded face parts (skin, hair, eyes, brows, nose, lips, neck, clothes) to a face', modelDir: 'models/mask-to-face' },
  // Full resolution and batch norm: the filter is local, and an instance norm after the first
  // convolution made the model blind to the photo's brightness and contrast (README).
  'face-to-cartoon': { ...common, downsamplings: 0, blocks: 4, norm: 'batch', realtimeDir: 'models/face-to-cartoon-realtime', task: 'face-to-cartoon', label: 'Face → cartoon', summary: 'a face photo to its cartoon (flat colours, dark outlines)', modelDir: 'models/face-to-cartoon' },
  unpaired: { ...common, realtimeDir: 'models/unpaired-realtime', task: 'unpaired', label: 'Day → night (unpaired, CycleGAN)', summary: 'a day scene to night, learnt from unpaired images with cycle consistency', modelDir: 'models/unpaired' },
};

export const PRESET_TASKS = Object.keys(PRESETS) as PresetTask[];

export function presetFor(task: string): Preset {
  const preset = PRESETS[task as PresetTask];
  if (!preset) throw new Error(`Unknown preset '${task}'; presets: ${PRESET_TASKS.join(', ')}`);
  return preset;
}


/** The base model's architecture in words, e.g. "resnet, ngf 16, 4 blocks at full resolution, batch norm, 64px". */
export function presetArchitecture(p: Preset): string {
  return `${p.arch}, ngf ${p.ngf}, ${p.blocks} blocks ${p.downsamplings ? `after ${p.downsamplings} down-samplings` : 'at full resolution'}, ${p.norm} norm, ${p.size}px`;
}
