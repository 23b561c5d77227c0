/**
 * Procedural faces with per-pixel segmentation labels, for the mask -> face task. Everything is
 * drawn from a seeded Rng: shape, pose (roll and yaw), skin / hair / eye / lip colours, hair
 * style, lighting direction and a skin texture, so a seed always gives the same pair.
 *
 * Model input is the colour-coded label map (FACE_CLASS_COLOURS, one colour per class, as
 * CelebAMask-HQ-style masks are usually shown); `labelsToOneHot` gives the one-hot alternative.
 */
import type { RawImage } from './dataset';
import { Rng } from '../train/rng';

export const FACE_CLASSES = ['background', 'skin', 'hair', 'brows', 'eyes', 'nose', 'lips', 'neck', 'clothes'] as const;
export type FaceClass = (typeof FACE_CLASSES)[number];

export const FACE_CLASS_COLOURS: Record<FaceClass, [number, number, number]> = {
  background: [0, 0, 0],
  skin: [204, 0, 0],
  hair: [0, 0, 204],
  brows: [255, 255, 0],
  eyes: [51, 51, 255],
  nose: [76, 153, 0],
  lips: [255, 0, 255],
  neck: [255, 153, 51],
  clothes: [0, 204, 204],
};

export interface FaceSample {
  face: RawImage;
  /** Class index per pixel (FACE_CLASSES order). */
  labels: Uint8Array;
  /** The label map drawn with FACE_CLASS_COLOURS (the model input). */
  labelColours: RawImage;
}

/** Deterministic value noise in [0, 1) for integer coordinates. */
function hashNoise(x: number, y: number, seed: number): number {
  let h = (Math.imul(x, 374761393) + Math.imul(y, 668265263) + Math.imul(seed, 2147483647)) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

const inEllipse = (dx: number, dy: number, rx: number, ry: number) => (dx * dx) / (rx * rx) + (dy * dy) / (ry * ry) <= 1;

export function renderFace(size: number, rng: Rng, name: string): FaceSample {
  const s = size;
  const cx = s * rng.range(0.44, 0.56);
  const cy = s * rng.range(0.42, 0.52);
  const rx = s * rng.range(0.2, 0.27);
  const ry = rx * rng.range(1.18, 1.4);
  const roll = rng.range(-0.25, 0.25);
  const yaw = rng.range(-0.3, 0.3); // shifts features sideways as a turned head does
  const skinTone = rng.range(0.25, 1);
  const skin: [number, number, number] = [120 + 125 * skinTone, 80 + 110 * skinTone, 60 + 95 * skinTone];
  const hairPalette: [number, number, number][] = [
    [30, 22, 18],
    [90, 60, 30],
    [200, 160, 90],
    [140, 50, 25],
    [120, 120, 125],
  ];
  const hair = hairPalette[rng.int(hairPalette.length)];
  const longHair = rng.next() < 0.5;
  const hairTop = rng.range(0.25, 0.55); // how far down the forehead the hair line comes
  const eyeColour: [number, number, number] = [[60, 90, 160], [80, 50, 30], [60, 120, 70]][rng.int(3)] as [number, number, number];
  const lipColour: [number, number, number] = [170 + rng.int(60), 60 + rng.int(40), 70 + rng.int(40)];
  const eyeY = rng.range(-0.12, -0.02);
  const eyeDx = rng.range(0.34, 0.44);
  const eyeR = rng.range(0.09, 0.13);
  const browGap = rng.range(0.12, 0.18);
  const noseLen = rng.range(0.22, 0.32);
  const mouthY = rng.range(0.42, 0.55);
  const mouthW = rng.range(0.28, 0.42);
  const light = rng.range(-1, 1);
  const clothes: [number, number, number] = [rng.int(200) + 30, rng.int(200) + 30, rng.int(200) + 30];
  const bgTop: [number, number, number] = [rng.int(120) + 100, rng.int(120) + 100, rng.int(120) + 100];
  const seed = rng.int(1 << 30);

  const labels = new Uint8Array(s * s);
  const face = new Uint8Array(s * s * 3);
  const cos = Math.cos(roll);
  const sin = Math.sin(roll);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      // Face-aligned coordinates in units of the face radius (u right, v down).
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      const u = (cos * px + sin * py) / rx;
      const v = (-sin * px + cos * py) / ry;
      const fu = u - yaw * 0.35; // features move with the yaw, the outline does not
      let k = 0;
      if (y > cy + ry * 1.35) k = 8;
      else if (Math.abs(u) < 0.45 && v > 0.7) k = 7;
      const inFace = u * u + v * v <= 1;
      const inHair = (u * u) / 1.25 + ((v + 0.15) * (v + 0.15)) / 1.3 <= 1 && (v < -1 + hairTop || (longHair && Math.abs(u) > 0.82 && v < 1.1));
      if (inFace) k = 1;
      if (inHair && (!inFace || v < -1 + hairTop || Math.abs(u) > 0.9)) k = 2;
      if (inFace) {
        for (const side of [-1, 1]) {
          if (inEllipse(fu - side * eyeDx, v - eyeY, eyeR * 1.4, eyeR * 0.65)) k = 4;
          if (inEllipse(fu - side * eyeDx, v - (eyeY - browGap - 0.03), eyeR * 1.6, 0.035)) k = 3;
        }
        if (Math.abs(fu) < 0.07 + (v - eyeY) * 0.12 && v > eyeY + 0.05 && v < eyeY + noseLen) k = 5;
        if (inEllipse(fu, v - mouthY, mouthW, 0.07)) k = 6;
      }
      labels[y * s + x] = k;

      // Colours: shading across the face from the light side, texture noise on skin.
      const o = (y * s + x) * 3;
      let c: [number, number, number];
      const shade = 0.85 + 0.15 * light * Math.max(-1, Math.min(1, u)) - 0.12 * Math.max(0, v);
      const grain = 0.94 + 0.12 * hashNoise(x, y, seed);
      switch (k) {
        case 0:
          c = bgTop.map((b) => b * (1 - (0.35 * y) / s)) as [number, number, number];
          break;
        case 1:
        case 7:
          c = skin.map((v0) => v0 * shade * grain * (k === 7 ? 0.85 : 1)) as [number, number, number];
          break;
        case 2:
          c = hair.map((v0) => v0 * (0.8 + 0.4 * hashNoise(x >> 1, y, seed + 1))) as [number, number, number];
          break;
        case 3:
          c = hair.map((v0) => v0 * 0.7) as [number, number, number];
          break;
        case 4: {
          const iris = Math.hypot((fu - Math.sign(fu) * eyeDx) / eyeR, (v - eyeY) / eyeR) < 0.55;
          c = iris ? eyeColour : [235, 235, 230];
          break;
        }
        case 5:
          c = skin.map((v0) => v0 * shade * 0.88) as [number, number, number];
          break;
        case 6:
          c = lipColour.map((v0) => v0 * (0.85 + 0.15 * shade)) as [number, number, number];
          break;
        default:
          c = clothes.map((v0) => v0 * (0.8 + 0.2 * hashNoise(x, y >> 2, seed + 2))) as [number, number, number];
      }
      face[o] = Math.max(0, Math.min(255, Math.round(c[0])));
      face[o + 1] = Math.max(0, Math.min(255, Math.round(c[1])));
      face[o + 2] = Math.max(0, Math.min(255, Math.round(c[2])));
    }
  }
  const colours = new Uint8Array(s * s * 3);
  labels.forEach((k, i) => colours.set(FACE_CLASS_COLOURS[FACE_CLASSES[k]], i * 3));
  const image = (data: Uint8Array): RawImage => ({ name, width: s, height: s, channels: 3, data });
  return { face: image(face), labels, labelColours: image(colours) };
}

/** `count` reproducible faces for a seed. */
export function proceduralFaces(count: number, size: number, seed: number): FaceSample[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => renderFace(size, rng, `face-${String(i).padStart(4, '0')}`));
}

/** One-hot label planes, [H, W, classes] float32, for models that take them instead of colours. */
export function labelsToOneHot(labels: Uint8Array, classes = FACE_CLASSES.length): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((k, i) => (out[i * classes + k] = 1));
  return out;
}
