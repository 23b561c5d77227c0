import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '../../src/cli/images';

const rgb = new Uint8Array(4 * 3 * 3).map((_, i) => (i * 37) % 256);

describe('image decoding in Node', () => {
  it('PNG round-trips exactly', () => {
    const img = decodeImage('a.png', encodePng(4, 3, 3, rgb));
    expect([img.width, img.height, img.channels]).toEqual([4, 3, 4]);
    for (let p = 0; p < 12; p++) expect(Array.from(img.data.slice(p * 4, p * 4 + 3))).toEqual(Array.from(rgb.slice(p * 3, p * 3 + 3)));
  });

  it('JPEG decodes to RGBA of the right size and roughly the right colour', () => {
    const width = 16;
    const height = 8;
    const data = new Uint8Array(width * height * 4).fill(255);
    for (let i = 0; i < width * height; i++) data.set([200, 40, 40, 255], i * 4);
    const bytes = jpeg.encode({ data, width, height }, 95).data;
    const img = decodeImage('a.jpg', new Uint8Array(bytes));
    expect([img.width, img.height, img.channels]).toEqual([16, 8, 4]);
    expect(Math.abs(img.data[0] - 200)).toBeLessThan(8);
    expect(Math.abs(img.data[1] - 40)).toBeLessThan(8);
  });

  it('names the file when it is not an image or is empty', () => {
    expect(() => decodeImage('x.png', new TextEncoder().encode('hello'))).toThrow(/^Image 'x.png' is neither a PNG nor a JPEG \(unknown signature\)$/);
    expect(() => decodeImage('y.jpg', new Uint8Array(0))).toThrow(/the file is empty/);
    expect(() => decodeImage('z.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 1]))).toThrow(/^Image 'z.jpg' could not be decoded/);
  });
});
