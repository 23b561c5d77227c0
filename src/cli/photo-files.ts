/** A folder of users' photos, for `alap data --from` and `alap run`. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RawImage } from '../core/data/dataset';
import { fileStem } from '../core/data/pairing';
import { listImages, decodeImage } from './images';

export const pngName = (name: string) => `${fileStem(name)}.png`;

/** Decodes every image of a folder; unusable files are listed on stderr and left out. */
export async function readUsable(dir: string): Promise<RawImage[]> {
  const usable: RawImage[] = [];
  for (const name of await listImages(dir)) {
    try {
      usable.push(decodeImage(name, new Uint8Array(await fs.readFile(path.join(dir, name)))));
    } catch (e) {
      process.stderr.write(`left out: ${(e as Error).message}\n`);
    }
  }
  if (!usable.length) throw new Error(`No usable image in '${dir}'`);
  return usable;
}
