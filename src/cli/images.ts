/**
 * Image folders for the CLI: PNG (pngjs) and JPEG (jpeg-js) decoded in pure JavaScript, paired
 * folders matched by file name. Every failure names the file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import type { RawImage } from '../core/data/dataset';
import { checkImageSize } from '../core/data/image-header';
import { pairByName, splitSideBySide, uniqueByName } from '../core/data/pairing';

const IMAGE = /\.(png|jpe?g)$/i;

export function decodeImage(name: string, bytes: Uint8Array): RawImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkImageSize(bytes, name);
  try {
    if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) {
      const png = PNG.sync.read(buf);
      return { name, width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data) };
    }
    if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 64, maxMemoryUsageInMB: 1024 });
      return { name, width: img.width, height: img.height, channels: 4, data: img.data };
    }
  } catch (e) {
    throw new Error(`Image '${name}' could not be decoded: ${(e as Error).message}`);
  }
  throw new Error(`Image '${name}' is neither a PNG nor a JPEG (${bytes.length === 0 ? 'the file is empty' : 'unknown signature'})`);
}

/**
 * Image files of a folder, sorted by name; other files are ignored. Two files whose names differ
 * only in the extension are refused: pairs, held-out samples and `alap run`'s outputs are named by
 * the name without it, so one would silently replace the other.
 */
export async function listImages(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => {
    throw new Error(`Image folder '${dir}' does not exist or cannot be read`);
  });
  const files = entries.filter((e) => e.isFile() && IMAGE.test(e.name) && !e.name.startsWith('.')).map((e) => e.name);
  if (files.length === 0) throw new Error(`Image folder '${dir}' has no PNG or JPEG images`);
  const { duplicates } = uniqueByName(files.sort().map((name) => ({ name })));
  if (duplicates.length) {
    throw new Error(`Image folder '${dir}' has files with the same name apart from the extension (${duplicates.map((d) => `${d.first.name} and ${d.file.name}`).join(', ')}): rename or remove one of each`);
  }
  return files;
}

export async function readImages(dir: string, names: string[]): Promise<RawImage[]> {
  return Promise.all(names.map(async (n) => decodeImage(n, new Uint8Array(await fs.readFile(path.join(dir, n))))));
}

/**
 * Reads an input folder and, optionally, a target folder matched by file name (extension
 * ignored; the studio's import pairs the same way, core/data/pairing.ts), or with `sideBySide`
 * one folder of AB images split into input and target halves. Unmatched or repeated names and
 * size mismatches are errors that list the files.
 */
export async function readImageFolders(dataDir: string, targetDir?: string, sideBySide?: 'AtoB' | 'BtoA'): Promise<{ inputs: RawImage[]; targets: RawImage[] | null }> {
  const inputNames = await listImages(dataDir);
  if (sideBySide) {
    const halves = (await readImages(dataDir, inputNames)).map((img) => splitSideBySide(img, sideBySide));
    return { inputs: halves.map(([a]) => a), targets: halves.map(([, b]) => b) };
  }
  if (!targetDir) return { inputs: await readImages(dataDir, inputNames), targets: null };
  const named = (n: string) => ({ name: n });
  const matched = pairByName(inputNames.map(named), (await listImages(targetDir)).map(named));
  const list = (xs: { name: string }[]) => xs.slice(0, 8).map((x) => x.name).join(', ') + (xs.length > 8 ? ` and ${xs.length - 8} more` : '');
  const parts = [];
  if (matched.inputsWithoutTarget.length) parts.push(`inputs without a target: ${list(matched.inputsWithoutTarget)}`);
  if (matched.targetsWithoutInput.length) parts.push(`targets without an input: ${list(matched.targetsWithoutInput)}`);
  for (const [side, dups] of [['inputs', matched.inputDuplicates], ['targets', matched.targetDuplicates]] as const) {
    if (dups.length) parts.push(`${side} with the same name as another: ${dups.map((d) => `${d.file.name} (${d.first.name})`).join(', ')}`);
  }
  if (parts.length) throw new Error(`Inputs and targets are matched by file name; ${parts.join('; ')}`);
  const inputs = await readImages(dataDir, matched.pairs.map((p) => p.input.name));
  const targets = await readImages(targetDir, matched.pairs.map((p) => p.target.name));
  inputs.forEach((a, i) => {
    const b = targets[i];
    if (a.width !== b.width || a.height !== b.height) {
      throw new Error(`Input '${a.name}' is ${a.width}x${a.height} but its target '${b.name}' is ${b.width}x${b.height}`);
    }
  });
  return { inputs, targets };
}

/** Encodes RGB(A) bytes as a PNG (for sample outputs and test fixtures). */
export function encodePng(width: number, height: number, channels: number, data: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = data[i * channels];
    png.data[i * 4 + 1] = data[i * channels + (channels > 1 ? 1 : 0)];
    png.data[i * 4 + 2] = data[i * channels + (channels > 2 ? 2 : 0)];
    png.data[i * 4 + 3] = channels === 4 ? data[i * 4 + 3] : 255;
  }
  return PNG.sync.write(png);
}
