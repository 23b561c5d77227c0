/**
 * Two procedural image domains with a clear style difference and no pairing, for CycleGAN-style
 * translation: A is the daylight shapes painting, B the same kind of scene in a "night" palette
 * (dark blue sky, dimmed and tinted shapes). A and B are drawn from different seeds, so no image
 * in B is the translation of one in A (see `taskItems('unpaired', …)`).
 */
import type { RawImage } from './dataset';

/** Domain B's scenes come from seed + this offset. */
export const NIGHT_SEED_OFFSET = 7919;

/** The night palette: a fixed per-pixel colour transform (learnable, but not by copying). */
export function nightStyle(img: RawImage): RawImage {
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) {
    const [r, g, b] = [img.data[i * img.channels], img.data[i * img.channels + 1], img.data[i * img.channels + 2]];
    data[i * 3] = Math.round(0.25 * r + 0.1 * g);
    data[i * 3 + 1] = Math.round(0.2 * r + 0.35 * g);
    data[i * 3 + 2] = Math.min(255, Math.round(0.3 * b + 0.2 * g + 50));
  }
  return { ...img, channels: 3, data };
}
