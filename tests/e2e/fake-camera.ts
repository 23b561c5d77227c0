/**
 * .y4m videos for Chromium's fake camera (`--use-file-for-fake-video-capture`). y4m is a header
 * line, then per frame `FRAME\n` + Y, U, V planes (4:2:0).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LaunchOptions } from '@playwright/test';
import config from '../../playwright.config';
import { proceduralFaces } from '../../src/core/data/faces';

/** Writes frames given as RGB at (x, y) into a y4m file (whole, then renamed into place). */
export function writeY4m(name: string, width: number, height: number, fps: number, frames: number, rgb: (frame: number, x: number, y: number) => [number, number, number]): string {
  // One file per process: a Chromium of another run never reads it half-written.
  const file = path.join(os.tmpdir(), 'alap-e2e', `${name}-${process.pid}.y4m`);
  mkdirSync(path.dirname(file), { recursive: true });
  const chunks: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(width * height);
    const u = Buffer.alloc((width / 2) * (height / 2));
    const v = Buffer.alloc((width / 2) * (height / 2));
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const [r, g, b] = rgb(f, col, row);
        y[row * width + col] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
        if (row % 2 === 0 && col % 2 === 0) {
          const i = (row / 2) * (width / 2) + col / 2;
          u[i] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
          v[i] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
        }
      }
    }
    chunks.push(Buffer.from('FRAME\n'), y, u, v);
  }
  writeFileSync(`${file}.tmp`, Buffer.concat(chunks));
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Procedural faces moving across the frame. */
export function writeFakeCamera(frames = 20, width = 320, height = 240, fps = 15): string {
  const faces = proceduralFaces(4, height, 1);
  return writeY4m(`camera-${width}x${height}-${frames}`, width, height, fps, frames, (f, col, row) => {
    const face = faces[f % faces.length].face;
    const x = col - Math.round(((width - height) * f) / frames);
    const o = (row * height + x) * 3;
    return x >= 0 && x < height ? [face.data[o], face.data[o + 1], face.data[o + 2]] : [40, 60, 90];
  });
}

/** Launch options that give Chromium a fake camera playing `file` (use in `test.use`). */
export function fakeCameraLaunchOptions(file = writeFakeCamera()): LaunchOptions {
  const base = config.use!.launchOptions!;
  return { ...base, args: [...(base.args ?? []), '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${file}`] };
}
