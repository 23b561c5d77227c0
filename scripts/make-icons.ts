/**
 * Draws the app icons (public/icon-192.png, public/icon-512.png): a face in a dark square, half of
 * it in flat cartoon colours. Run: npx tsx scripts/make-icons.ts
 */
import { writeFileSync } from 'node:fs';
import { encodePng } from '../src/cli/images';

function icon(size: number): Buffer {
  const data = new Uint8Array(size * size * 3);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x - c) / size;
      const dy = (y - c * 1.05) / size;
      let rgb = [29, 53, 87]; // background
      const inFace = (dx * dx) / 0.09 + (dy * dy) / 0.13 <= 1;
      const cartoon = x > c;
      if (inFace) rgb = cartoon ? [241, 180, 130] : [220 - 40 * Math.abs(dy) * 4, 165 - 30 * Math.abs(dx) * 4, 130];
      const eye = (ex: number) => (dx - ex) ** 2 + (dy + 0.06) ** 2 <= 0.0016;
      if (eye(-0.12) || eye(0.12)) rgb = [20, 20, 30];
      if (inFace && Math.abs(dy - 0.13) < 0.015 && Math.abs(dx) < 0.12) rgb = cartoon ? [180, 40, 60] : [190, 90, 90];
      if (Math.abs(x - c) < size / 96 && y > size * 0.12 && y < size * 0.88) rgb = [241, 250, 238];
      data.set(rgb.map(Math.round), (y * size + x) * 3);
    }
  }
  return encodePng(size, size, 3, data);
}

for (const size of [192, 512]) writeFileSync(`public/icon-${size}.png`, icon(size));
console.log('wrote public/icon-192.png, public/icon-512.png');
