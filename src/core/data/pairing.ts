/**
 * How image files become training pairs, the same in the studio's import and the CLI: inputs and
 * targets are matched by file name with the extension ignored, and a pix2pix-style AB image (input
 * and target side by side) is split into its halves.
 */
import type { RawImage } from './dataset';

/** A file name without its extension: what inputs and targets are matched by. */
export const fileStem = (name: string): string => name.replace(/\.[^.]+$/, '');

export interface Duplicate<T> {
  /** The file left out, and the first file that has its name. */
  file: T;
  first: T;
}

/** The first file of each name (extension ignored), and the later ones that repeat a name. */
export function uniqueByName<T extends { name: string }>(files: T[]): { kept: T[]; duplicates: Duplicate<T>[] } {
  const seen = new Map<string, T>();
  const duplicates: Duplicate<T>[] = [];
  const kept = files.filter((f) => {
    const first = seen.get(fileStem(f.name));
    if (first) duplicates.push({ file: f, first });
    else seen.set(fileStem(f.name), f);
    return !first;
  });
  return { kept, duplicates };
}

export interface NamePairing<T> {
  /** In the inputs' order. */
  pairs: { input: T; target: T }[];
  inputsWithoutTarget: T[];
  targetsWithoutInput: T[];
  /** Files left out because an earlier file on the same side has their name. */
  inputDuplicates: Duplicate<T>[];
  targetDuplicates: Duplicate<T>[];
}

/** Matches inputs with targets by name (extension ignored); on each side a repeated name is left out. */
export function pairByName<T extends { name: string }>(inputs: T[], targets: T[]): NamePairing<T> {
  const a = uniqueByName(inputs);
  const b = uniqueByName(targets);
  const byStem = new Map(b.kept.map((t) => [fileStem(t.name), t]));
  const inputStems = new Set(a.kept.map((f) => fileStem(f.name)));
  const pairs: NamePairing<T>['pairs'] = [];
  const inputsWithoutTarget: T[] = [];
  for (const input of a.kept) {
    const target = byStem.get(fileStem(input.name));
    if (target) pairs.push({ input, target });
    else inputsWithoutTarget.push(input);
  }
  return { pairs, inputsWithoutTarget, targetsWithoutInput: b.kept.filter((t) => !inputStems.has(fileStem(t.name))), inputDuplicates: a.duplicates, targetDuplicates: b.duplicates };
}

/** Left and right halves of a side-by-side AB image, as [input, target] for 'AtoB' (swapped for 'BtoA'). */
export function splitSideBySide(img: RawImage, direction: 'AtoB' | 'BtoA'): [RawImage, RawImage] {
  if (img.width % 2 !== 0) throw new Error(`'${img.name}' is ${img.width} px wide: a side-by-side pair needs an even width`);
  const half = img.width / 2;
  const part = (offset: number): RawImage => {
    const data = new Uint8Array(half * img.height * img.channels);
    for (let y = 0; y < img.height; y++) {
      const row = (y * img.width + offset) * img.channels;
      data.set(img.data.subarray(row, row + half * img.channels), y * half * img.channels);
    }
    return { ...img, width: half, data };
  };
  const [a, b] = [part(0), part(half)];
  return direction === 'BtoA' ? [b, a] : [a, b];
}
