/**
 * A procedural paired task the repo can generate anywhere (no downloads): a colour-coded label
 * map of random shapes (input) and a "painted" rendering of it (target). The painting needs
 * context a 1x1 mapping cannot give: sphere shading across each disc, stripes on rectangles, a
 * dark outline on triangles and a drop shadow offset from every shape.
 */
import type { RawImage } from './dataset';
import { Rng } from '../train/rng';

type Shape = { kind: 0 | 1 | 2; cx: number; cy: number; r: number; w: number; h: number };

/** Label colours of the input map: disc, rectangle, triangle (background is black). */
export const SHAPE_LABEL_COLOURS: readonly [number, number, number][] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
];

function inside(s: Shape, x: number, y: number): boolean {
  const dx = x - s.cx;
  const dy = y - s.cy;
  if (s.kind === 0) return dx * dx + dy * dy <= s.r * s.r;
  if (s.kind === 1) return Math.abs(dx) <= s.w && Math.abs(dy) <= s.h;
  // Upward triangle with apex at (cx, cy - r) and base at cy + r.
  const t = (dy + s.r) / (2 * s.r);
  return t >= 0 && t <= 1 && Math.abs(dx) <= t * s.r;
}

function labelAt(shapes: Shape[], x: number, y: number): number {
  for (let i = shapes.length - 1; i >= 0; i--) if (inside(shapes[i], x, y)) return i;
  return -1;
}

export function syntheticShapePair(size: number, rng: Rng, name: string): { input: RawImage; target: RawImage } {
  const n = 1 + rng.int(3);
  const shapes: Shape[] = Array.from({ length: n }, () => {
    const r = size * rng.range(0.1, 0.25);
    return {
      kind: rng.int(3) as Shape['kind'],
      cx: rng.range(r, size - r),
      cy: rng.range(r, size - r),
      r,
      w: r * rng.range(0.6, 1),
      h: r * rng.range(0.6, 1),
    };
  });
  const input = new Uint8Array(size * size * 3);
  const target = new Uint8Array(size * size * 3);
  const shadow = Math.max(2, Math.round(size / 32));
  const edge = Math.max(1, Math.round(size / 64));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      const k = labelAt(shapes, x, y);
      let rgb: [number, number, number];
      if (k < 0) {
        const sky = 170 + (60 * y) / size;
        const shaded = labelAt(shapes, x - shadow, y - shadow) >= 0 ? 0.55 : 1;
        rgb = [sky * 0.8 * shaded, sky * 0.9 * shaded, sky * shaded];
      } else {
        const s = shapes[k];
        input.set(SHAPE_LABEL_COLOURS[s.kind], o);
        if (s.kind === 0) {
          const d = Math.hypot(x - (s.cx - s.r * 0.35), y - (s.cy - s.r * 0.35)) / (1.6 * s.r);
          const light = Math.max(0.25, 1 - d);
          rgb = [250 * light, 140 * light, 40 * light];
        } else if (s.kind === 1) {
          const stripe = Math.floor((y - s.cy + s.h) / Math.max(2, size / 24)) % 2 === 0;
          rgb = stripe ? [40, 70, 200] : [200, 210, 240];
        } else {
          const border = labelAt(shapes, x - edge, y) !== k || labelAt(shapes, x + edge, y) !== k || labelAt(shapes, x, y + edge) !== k;
          rgb = border ? [10, 60, 10] : [90, 200, 90];
        }
      }
      target[o] = rgb[0];
      target[o + 1] = rgb[1];
      target[o + 2] = rgb[2];
    }
  }
  const image = (data: Uint8Array): RawImage => ({ name, width: size, height: size, channels: 3, data });
  return { input: image(input), target: image(target) };
}

/** `count` reproducible pairs for a seed. */
export function syntheticShapes(count: number, size: number, seed: number): { inputs: RawImage[]; targets: RawImage[] } {
  const rng = new Rng(seed);
  const inputs: RawImage[] = [];
  const targets: RawImage[] = [];
  for (let i = 0; i < count; i++) {
    const pair = syntheticShapePair(size, rng, `shapes-${String(i).padStart(4, '0')}`);
    inputs.push(pair.input);
    targets.push(pair.target);
  }
  return { inputs, targets };
}
