/**
 * Segmentation label maps as model inputs. A label PNG in the CelebAMask-HQ style stores one class
 * index per pixel as a grey value (0 = background, 1, 2, … up to classes - 1). The models here take
 * the colour-coded map instead: class k is drawn in LABEL_PALETTE colour k. The first colours are
 * the procedural faces' (FACE_CLASS_COLOURS in FACE_CLASSES order), so the built-in mask -> face
 * data and imported label maps speak the same code; further classes get distinct generated colours.
 */
import type { RawImage } from './dataset';
import { FACE_CLASSES, FACE_CLASS_COLOURS } from './faces';

export const MAX_CLASSES = 256;

/** Colour of each class index 0..classes-1. */
export function labelPalette(classes: number): [number, number, number][] {
  if (!Number.isInteger(classes) || classes < 2 || classes > MAX_CLASSES) {
    throw new Error(`The class count must be a whole number from 2 to ${MAX_CLASSES}, got ${classes}`);
  }
  const palette = FACE_CLASSES.map((c) => FACE_CLASS_COLOURS[c]).slice(0, classes);
  for (let k = palette.length; k < classes; k++) {
    // Golden-angle hues with alternating lightness: neighbouring indices look different.
    const h = (k * 137.508) % 360;
    const l = k % 2 ? 0.45 : 0.7;
    const f = (n: number) => {
      const a = 0.8 * Math.min(l, 1 - l);
      const t = (n + h / 30) % 12;
      return Math.round(255 * (l - a * Math.max(-1, Math.min(t - 3, 9 - t, 1))));
    };
    palette.push([f(0), f(8), f(4)]);
  }
  return palette;
}

/**
 * A label map (class index per pixel in its grey value) drawn in the palette. Refuses colour
 * images and values that are not class indices, naming the file.
 */
export function colourLabelMap(img: RawImage, classes: number): RawImage {
  const palette = labelPalette(classes);
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const o = i * img.channels;
    const k = img.data[o];
    if (img.channels >= 3 && (img.data[o + 1] !== k || img.data[o + 2] !== k)) {
      throw new Error(`'${img.name}' is a colour image, not a label map (expected one class index per pixel as a grey value)`);
    }
    if (k >= classes) {
      throw new Error(`'${img.name}' has the value ${k} at pixel (${i % img.width}, ${Math.floor(i / img.width)}), not a class index below ${classes}`);
    }
    out.set(palette[k], i * 3);
  }
  return { name: img.name, width: img.width, height: img.height, channels: 3, data: out };
}
