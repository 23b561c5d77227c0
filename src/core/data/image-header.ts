/**
 * Image size from the first bytes of a file, before decoding it: a 20000 x 20000 PNG is a few
 * kilobytes but 1.6 GB of pixels, so untrusted images are measured first and refused when too big.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/** Width and height from a PNG, JPEG, GIF, BMP or WebP header; null when the format is not recognised. */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | null {
  const u32be = (o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  const u16be = (o: number) => (b[o] << 8) | b[o + 1];
  const u16le = (o: number) => b[o] | (b[o + 1] << 8);
  const i32le = (o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === 'PNG') return { width: u32be(16), height: u32be(20) };
  if (b.length >= 10 && ascii(0, 3) === 'GIF') return { width: u16le(6), height: u16le(8) };
  if (b.length >= 26 && ascii(0, 2) === 'BM') return { width: Math.abs(i32le(18)), height: Math.abs(i32le(22)) };
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const kind = ascii(12, 4);
    if (kind === 'VP8X') return { width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)) };
    if (kind === 'VP8L') return { width: 1 + (u16le(21) & 0x3fff), height: 1 + (((u16le(22) >> 6) | (b[24] << 10)) & 0x3fff) };
    if (kind === 'VP8 ') return { width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // Walk the JPEG segments to the first start-of-frame marker.
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return null;
      const marker = b[o + 1];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: u16be(o + 7), height: u16be(o + 5) };
      o += 2 + u16be(o + 2);
    }
  }
  return null;
}

/** Throws a sentence naming the file when its header declares more than MAX_IMAGE_PIXELS. */
export function checkImageSize(bytes: Uint8Array, name: string): void {
  const d = imageDimensions(bytes);
  if (d && d.width * d.height > MAX_IMAGE_PIXELS) {
    throw new Error(`'${name}' is ${d.width}x${d.height} pixels; images up to ${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} megapixels are accepted (scale it down first)`);
  }
}
