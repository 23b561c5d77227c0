/**
 * Photographs as training data for image-to-image tasks whose target is a function of the input
 * (face -> cartoon: target = cartoon filter of the input). A model meant for webcam frames at
 * 256 px must see what such frames look like: the whole scene and close-ups (random crops at
 * several scales), mirrored, lit differently (brightness, contrast, saturation), slightly soft or
 * noisy. Pure JavaScript on bytes, seeded, so it runs in workers and Node alike.
 */
import type { RawImage } from './dataset';
import type { Rng } from '../train/rng';

export interface PhotoAugmentation {
  /** Crop side as a fraction of the photo's shorter side: [smallest, largest]. */
  scale: [number, number];
  flip: boolean;
  /** Brightness shift, fraction of full scale (uniform in ±). */
  brightness: number;
  /** Contrast factor around the mean, uniform in 1 ± this. */
  contrast: number;
  /** Saturation factor (mix with grey), uniform in 1 ± this. */
  saturation: number;
  /** Probability of a slight Gaussian blur (sigma 0.5-1 px). */
  blur: number;
  /** Probability of sensor-like noise (std 2-6 levels). */
  noise: number;
}

export const WEBCAM_AUGMENTATION: PhotoAugmentation = {
  scale: [0.25, 1],
  flip: true,
  brightness: 0.12,
  contrast: 0.25,
  saturation: 0.3,
  blur: 0.25,
  noise: 0.25,
};

/**
 * The square region [x0, x0 + side) x [y0, y0 + side) of an image resampled to `size` x `size` RGB:
 * a box filter when shrinking (no aliasing, as a camera's scaler), bilinear when enlarging.
 */
export function resampleSquare(img: RawImage, x0: number, y0: number, side: number, size: number): Uint8Array {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Uint8Array(size * size * 3);
  const f = side / size;
  const px = (x: number, y: number, k: number) => data[(Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) * c + Math.min(k, c - 1)];
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      const o = (oy * size + ox) * 3;
      if (f > 1) {
        const [xa, xb] = [Math.floor(x0 + ox * f), Math.max(Math.floor(x0 + ox * f) + 1, Math.floor(x0 + (ox + 1) * f))];
        const [ya, yb] = [Math.floor(y0 + oy * f), Math.max(Math.floor(y0 + oy * f) + 1, Math.floor(y0 + (oy + 1) * f))];
        for (let k = 0; k < 3; k++) {
          let s = 0;
          for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) s += px(x, y, k);
          out[o + k] = Math.round(s / ((xb - xa) * (yb - ya)));
        }
      } else {
        const sx = x0 + (ox + 0.5) * f - 0.5;
        const sy = y0 + (oy + 0.5) * f - 0.5;
        const [ix, iy] = [Math.floor(sx), Math.floor(sy)];
        const [ax, ay] = [sx - ix, sy - iy];
        for (let k = 0; k < 3; k++) {
          const top = px(ix, iy, k) * (1 - ax) + px(ix + 1, iy, k) * ax;
          const bottom = px(ix, iy + 1, k) * (1 - ax) + px(ix + 1, iy + 1, k) * ax;
          out[o + k] = Math.round(top * (1 - ay) + bottom * ay);
        }
      }
    }
  }
  return out;
}

/** The centre square of a photo at `size` px (evaluation and `alap data --from`). */
export function centreSquare(img: RawImage, size: number): RawImage {
  const side = Math.min(img.width, img.height);
  const data = resampleSquare(img, Math.floor((img.width - side) / 2), Math.floor((img.height - side) / 2), side, size);
  return { name: img.name, width: size, height: size, channels: 3, data };
}

function gaussianBlur(rgb: Float32Array, size: number, sigma: number): Float32Array {
  const k = [-1, 0, 1].map((d) => Math.exp(-(d * d) / (2 * sigma * sigma)));
  const norm = k[0] + k[1] + k[2];
  const pass = (src: Float32Array, dx: number, dy: number) => {
    const dst = new Float32Array(src.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let d = -1; d <= 1; d++) {
            const xx = Math.min(size - 1, Math.max(0, x + d * dx));
            const yy = Math.min(size - 1, Math.max(0, y + d * dy));
            s += k[d + 1] * src[(yy * size + xx) * 3 + c];
          }
          dst[(y * size + x) * 3 + c] = s / norm;
        }
      }
    }
    return dst;
  };
  return pass(pass(rgb, 1, 0), 0, 1);
}

/** One random view of a photo at `size` x `size` RGB. */
export function augmentPhoto(img: RawImage, size: number, rng: Rng, a: PhotoAugmentation = WEBCAM_AUGMENTATION): RawImage {
  const short = Math.min(img.width, img.height);
  const side = Math.max(1, Math.round(short * rng.range(a.scale[0], a.scale[1])));
  const x0 = rng.int(img.width - side + 1);
  const y0 = rng.int(img.height - side + 1);
  const bytes = resampleSquare(img, x0, y0, side, size);
  let rgb: Float32Array = Float32Array.from(bytes);
  const n = size * size;
  if (a.flip && rng.next() < 0.5) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size / 2; x++) {
        for (let c = 0; c < 3; c++) {
          const [i, j] = [(y * size + x) * 3 + c, (y * size + size - 1 - x) * 3 + c];
          [rgb[i], rgb[j]] = [rgb[j], rgb[i]];
        }
      }
    }
  }
  const shift = rng.range(-a.brightness, a.brightness) * 255;
  const contrast = rng.range(1 - a.contrast, 1 + a.contrast);
  const saturation = rng.range(1 - a.saturation, 1 + a.saturation);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  mean /= n;
  for (let i = 0; i < n; i++) {
    const grey = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
    for (let c = 0; c < 3; c++) {
      const v = grey + (rgb[i * 3 + c] - grey) * saturation;
      rgb[i * 3 + c] = (v - mean) * contrast + mean + shift;
    }
  }
  if (rng.next() < a.blur) rgb = gaussianBlur(rgb, size, rng.range(0.5, 1));
  const noise = rng.next() < a.noise ? rng.range(2, 6) : 0;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i++) {
    // Box-Muller from two uniforms; only drawn when noise is on, so runs without it stay cheap.
    const g = noise ? Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()) * noise : 0;
    out[i] = Math.max(0, Math.min(255, Math.round(rgb[i] + g)));
  }
  return { name: img.name, width: size, height: size, channels: 3, data: out };
}
