/**
 * Weight quantisation on export, in the tfjs weights-manifest format that `tf.loadLayersModel`
 * dequantises on load: float16 (half the size) or uint8 with a per-tensor affine scale (a quarter).
 */
import { concatBytes, parseModelJson, type ModelFiles } from './model-files';

export type Precision = 'float32' | 'float16' | 'uint8';
export const PRECISIONS: readonly Precision[] = ['float32', 'float16', 'uint8'];

/** IEEE 754 half-precision bits of a float, rounded to nearest even. */
export function toFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000; // subnormal half
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is still right
  return sign | half;
}

/** The float an IEEE 754 half-precision bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Rewrites model files with their float32 weights stored at the given precision. */
export function quantizeModelFiles(files: ModelFiles, precision: Precision): ModelFiles {
  if (precision === 'float32') return files;
  const { modelTopology, manifest } = parseModelJson(files.modelJson);
  const all = concatBytes(manifest.flatMap((g) => g.paths).map((p) => files.shards.get(p)!));
  const out: Uint8Array[] = [];
  const specs = manifest.flatMap((g) => g.weights);
  let offset = 0;
  const newSpecs = specs.map((spec) => {
    const n = spec.shape.reduce((p, d) => p * d, 1);
    const bytes = spec.quantization ? n * (spec.quantization.dtype === 'float16' || spec.quantization.dtype === 'uint16' ? 2 : 1) : n * 4;
    const slice = all.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32' || spec.quantization) {
      out.push(slice);
      return spec;
    }
    const values = new Float32Array(slice.buffer);
    if (precision === 'float16') {
      out.push(new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer));
      return { ...spec, quantization: { dtype: 'float16' as const, original_dtype: 'float32' as const } };
    }
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const scale = max > min ? (max - min) / 255 : 1;
    out.push(Uint8Array.from(values, (v) => Math.round((v - min) / scale)));
    return { ...spec, quantization: { dtype: 'uint8' as const, scale, min, original_dtype: 'float32' as const } };
  });
  const weights = concatBytes(out);
  const json = JSON.parse(files.modelJson);
  const modelJson = JSON.stringify({ ...json, modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: newSpecs }] });
  return { modelJson, shards: new Map([['weights.bin', weights]]) };
}
