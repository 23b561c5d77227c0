import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '../../src/cli/images';
import { imageDimensions, MAX_IMAGE_PIXELS } from '../../src/core/data/image-header';
import { loadModelFromFiles, MAX_MODEL_BYTES } from '../../src/core/io/model-files';

/** A PNG signature and IHDR chunk declaring width x height, and nothing else. */
function pngHeader(width: number, height: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

describe('image sizes are read from headers before decoding', () => {
  it('PNG, JPEG, GIF, BMP and WebP headers give width and height', () => {
    expect(imageDimensions(encodePng(7, 5, 3, new Uint8Array(7 * 5 * 3)))).toEqual({ width: 7, height: 5 });
    const jpg = jpeg.encode({ data: new Uint8Array(9 * 4 * 4), width: 9, height: 4 }, 80).data;
    expect(imageDimensions(new Uint8Array(jpg))).toEqual({ width: 9, height: 4 });
    const gif = new Uint8Array([...'GIF89a'].map((c) => c.charCodeAt(0)).concat([12, 0, 34, 0]));
    expect(imageDimensions(gif)).toEqual({ width: 12, height: 34 });
    const bmp = new Uint8Array(26);
    bmp.set([0x42, 0x4d]);
    new DataView(bmp.buffer).setInt32(18, 640, true);
    new DataView(bmp.buffer).setInt32(22, -480, true); // top-down rows
    expect(imageDimensions(bmp)).toEqual({ width: 640, height: 480 });
    const webp = new Uint8Array(30);
    webp.set([...'RIFF'].map((c) => c.charCodeAt(0)));
    webp.set([...'WEBPVP8X'].map((c) => c.charCodeAt(0)), 8);
    webp.set([99, 0, 0, 49, 0, 0], 24); // (w - 1, h - 1) as 24-bit little endian
    expect(imageDimensions(webp)).toEqual({ width: 100, height: 50 });
    expect(imageDimensions(new Uint8Array([1, 2, 3]))).toBeNull();
  });

  it('a decompression bomb (a tiny file declaring 20000 x 20000) is refused before any decoding', () => {
    expect(20000 * 20000).toBeGreaterThan(MAX_IMAGE_PIXELS);
    expect(() => decodeImage('bomb.png', pngHeader(20000, 20000))).toThrow("'bomb.png' is 20000x20000 pixels; images up to 16.8 megapixels are accepted");
    // Within the limit the same truncated file fails as a broken PNG, not as a size problem.
    expect(() => decodeImage('small.png', pngHeader(100, 100))).toThrow("Image 'small.png' could not be decoded");
  });
});

describe('imported model files are untrusted', () => {
  const topology = { class_name: 'Sequential', config: { name: 's', layers: [] } };
  const modelJson = (weights: object[]) => JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights }] });

  it('shapes must be whole non-negative numbers', async () => {
    const json = modelJson([{ name: 'w', shape: [3, -1], dtype: 'float32' }]);
    await expect(loadModelFromFiles(json, new Map([['weights.bin', new Uint8Array(0)]]))).rejects.toThrow("Weight 'w' has an invalid shape [3,-1]");
  });

  it('a manifest declaring more than the limit is refused before any shard is read or allocated', async () => {
    const json = modelJson([{ name: 'huge', shape: [65536, 65536], dtype: 'float32' }]);
    expect(65536 * 65536 * 4).toBeGreaterThan(MAX_MODEL_BYTES);
    await expect(loadModelFromFiles(json, new Map())).rejects.toThrow('model.json declares 16.00 GiB of weights; models over 1 GiB are refused');
  });
});
