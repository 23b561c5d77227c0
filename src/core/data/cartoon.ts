/**
 * A classical, deterministic cartoon filter (the face -> cartoon task's target): edge-preserving
 * smoothing (bilateral, a few passes), colour quantisation, and dark lines where the smoothed
 * image has strong edges. Works on any RGB(A) image: procedural faces, imported photos, frames.
 */
import type { RawImage } from './dataset';

export interface CartoonOptions {
  /** Bilateral passes (more = flatter regions). */
  passes: number;
  /** Colour levels per channel after smoothing. */
  levels: number;
  /** Sobel magnitude (0..1 of the maximum possible) at which a pixel is half a line (lines fade in around it). */
  edgeThreshold: number;
  /**
   * How abruptly one band turns into the next (larger = harder steps). The steps are smooth
   * (Winnemöller et al., "Real-time video abstraction", 2006): a pixel near a band boundary changes
   * the output by a little, not a whole band, so webcam noise does not flicker and a network can
   * learn the filter.
   */
  bandSharpness: number;
}

export const DEFAULT_CARTOON: CartoonOptions = { passes: 2, levels: 6, edgeThreshold: 0.18, bandSharpness: 0.1 };

function bilateral(src: Float32Array, w: number, h: number, radius = 2, sigmaSpace = 2, sigmaColour = 28): Float32Array {
  const out = new Float32Array(src.length);
  const spatial: number[] = [];
  for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) spatial.push(Math.exp(-(dx * dx + dy * dy) / (2 * sigmaSpace * sigmaSpace)));
  const colourScale = -1 / (2 * sigmaColour * sigmaColour);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      let sr = 0;
      let sg = 0;
      let sb = 0;
      let sw = 0;
      let k = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        const yy = Math.min(h - 1, Math.max(0, y + dy));
        for (let dx = -radius; dx <= radius; dx++, k++) {
          const xx = Math.min(w - 1, Math.max(0, x + dx));
          const q = (yy * w + xx) * 3;
          const dr = src[q] - src[o];
          const dg = src[q + 1] - src[o + 1];
          const db = src[q + 2] - src[o + 2];
          const wgt = spatial[k] * Math.exp((dr * dr + dg * dg + db * db) * colourScale);
          sr += wgt * src[q];
          sg += wgt * src[q + 1];
          sb += wgt * src[q + 2];
          sw += wgt;
        }
      }
      out[o] = sr / sw;
      out[o + 1] = sg / sw;
      out[o + 2] = sb / sw;
    }
  }
  return out;
}

/**
 * `v` on a staircase of steps `step` apart: flat near each multiple of `step`, a smooth tanh ramp
 * to the next one centred half-way; continuous. `sharpness` is per 51 grey levels, so bands of
 * every width have the same shape.
 */
function softQuantise(v: number, step: number, sharpness: number): number {
  const floor = Math.floor(v / step) * step;
  const k = (sharpness * 51) / step;
  return floor + (step / 2) * (1 + Math.tanh(k * (v - floor - step / 2)) / Math.tanh((k * step) / 2));
}

export function cartoonize(img: RawImage, options: Partial<CartoonOptions> = {}): RawImage {
  const opts = { ...DEFAULT_CARTOON, ...options };
  const { width: w, height: h, channels: c } = img;
  let rgb: Float32Array = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = img.data[i * c + Math.min(k, c - 1)];
  for (let p = 0; p < opts.passes; p++) rgb = bilateral(rgb, w, h);

  const lum = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) lum[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  const at = (x: number, y: number) => lum[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  // Quantise brightness into a few flat bands and keep colour (chroma) nearly smooth: per-channel
  // RGB quantisation shifted hues (green patches on faces).
  const step = 255 / (opts.levels - 1);
  const chromaStep = step / 3;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      // Lines fade in around the threshold (0.6x to 1.4x of it) rather than switching on.
      const mag = Math.hypot(gx, gy) / (4 * 255 * Math.SQRT2);
      const line = Math.min(1, Math.max(0, (mag - opts.edgeThreshold * 0.6) / (opts.edgeThreshold * 0.8)));
      const o = (y * w + x) * 3;
      const [r, g, b] = [rgb[o], rgb[o + 1], rgb[o + 2]];
      const yq = softQuantise(0.299 * r + 0.587 * g + 0.114 * b, step, opts.bandSharpness);
      const cb = softQuantise(-0.168736 * r - 0.331264 * g + 0.5 * b, chromaStep, opts.bandSharpness);
      const cr = softQuantise(0.5 * r - 0.418688 * g - 0.081312 * b, chromaStep, opts.bandSharpness);
      const q = [yq + 1.402 * cr, yq - 0.344136 * cb - 0.714136 * cr, yq + 1.772 * cb];
      for (let k = 0; k < 3; k++) {
        const v = Math.max(0, Math.min(255, q[k]));
        out[o + k] = Math.round(v * (1 - 0.85 * line));
      }
    }
  }
  return { name: img.name, width: w, height: h, channels: 3, data: out };
}
