/**
 * Custom layers the generators need and tfjs-layers lacks. Each is registered with
 * tf.serialization so a saved model reloads with plain `tf.loadLayersModel` once this module is
 * imported.
 */
import * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;

/**
 * Gradient of reflection padding along one spatial axis: the interior plus each border folded
 * back onto the input rows it mirrors. (tfjs's MirrorPad gradient keeps only the interior.)
 */
function unreflectAxis(dy: tf.Tensor4D, axis: 1 | 2, p: number): tf.Tensor4D {
  if (p === 0) return dy;
  const n = dy.shape[axis] - 2 * p;
  const take = (start: number, size: number) => {
    const begin = [0, 0, 0, 0];
    const sizes = [-1, -1, -1, -1];
    begin[axis] = start;
    sizes[axis] = size;
    return tf.slice(dy, begin, sizes) as tf.Tensor4D;
  };
  const padAlong = (t: tf.Tensor4D, before: number, after: number) => {
    const pads: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    pads[axis] = [before, after];
    return tf.pad(t, pads);
  };
  // Padded index k < p mirrors input index p - k; padded index p + n + k mirrors n - 2 - k.
  const top = tf.reverse(take(0, p), axis);
  const bottom = tf.reverse(take(p + n, p), axis);
  return tf.addN([take(p, n), padAlong(top, 1, n - 1 - p), padAlong(bottom, n - 1 - p, 1)]) as tf.Tensor4D;
}

/** Reflection padding with a correct gradient (also correct on every backend). */
export function reflectPad(x: tf.Tensor4D, ph: number, pw: number): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const value = tf.mirrorPad(input, [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ], 'reflect');
    return { value, gradFunc: (dy: tf.Tensor) => unreflectAxis(unreflectAxis(dy as tf.Tensor4D, 1, ph), 2, pw) };
  });
  return f(x) as tf.Tensor4D;
}

export class ReflectionPadding2D extends tf.layers.Layer {
  static className = 'ReflectionPadding2D';
  readonly padding: [number, number];

  constructor(config: { padding?: number | [number, number]; name?: string } & Kwargs = {}) {
    super(config);
    const p = config.padding ?? 1;
    this.padding = typeof p === 'number' ? [p, p] : [p[0], p[1]];
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const grow = (d: number | null, p: number) => (d == null ? null : d + 2 * p);
    return [s[0], grow(s[1], this.padding[0]), grow(s[2], this.padding[1]), s[3]];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [ph, pw] = this.padding;
    const [, h, w] = x.shape;
    if ((h as number) <= ph || (w as number) <= pw) {
      throw new Error(`ReflectionPadding2D '${this.name}': padding ${ph}x${pw} needs an input larger than that, got ${h}x${w}`);
    }
    return reflectPad(x as tf.Tensor4D, ph, pw);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

/**
 * Instance normalisation over H and W per sample and channel, with an optional learned
 * per-channel scale (gamma) and offset (beta), as in CycleGAN / pix2pix generators.
 */
export class InstanceNormalization extends tf.layers.Layer {
  static className = 'InstanceNormalization';
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;

  constructor(config: { epsilon?: number; center?: boolean; scale?: boolean; name?: string } & Kwargs = {}) {
    super(config);
    this.epsilon = config.epsilon ?? 1e-5;
    this.center = config.center ?? true;
    this.scale = config.scale ?? true;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = s[3];
    if (c == null) throw new Error(`InstanceNormalization '${this.name}' needs a known channel count`);
    if (this.scale) this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
    if (this.center) this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (!kwargs.training && x.shape[0] === 1 && tf.getBackend() === 'wasm') return this.inferOneOnWasm(x);
      const { mean, variance } = tf.moments(x, [1, 2], true);
      // (x - mean) * scale + beta as x * scale + shift: scale and shift are per channel (tiny), so
      // the full-size tensor is touched by one multiply and one add (memory-bound at high res).
      let scale = tf.rsqrt(tf.add(variance, this.epsilon));
      if (this.gamma) scale = tf.mul(scale, this.gamma.read());
      let shift = tf.neg(tf.mul(mean, scale));
      if (this.beta) shift = tf.add(shift, this.beta.read());
      return tf.add(tf.mul(x, scale), shift);
    });
  }

  /**
   * The same for one image at inference on wasm, where multiplying or adding a per-channel vector
   * is a slow broadcasting loop: centring and scaling run as 1x1 depthwise convolutions with a bias
   * (one XNNPACK pass each, about 3x faster at 256x256). The per-channel statistics are read back
   * (a copy out of wasm memory) and turned into the scale and shift in JavaScript: 5 kernels per
   * norm instead of 12, each small one costing a dispatch. Mathematically identical.
   */
  private inferOneOnWasm(x: tf.Tensor4D): tf.Tensor {
    const c = x.shape[3];
    const perChannel = (filter: Float32Array, bias: Float32Array, t: tf.Tensor4D) =>
      tf.fused.depthwiseConv2d({ x: t, filter: tf.tensor4d(filter, [1, 1, c, 1]), bias: tf.tensor1d(bias), strides: 1, pad: 'valid' });
    // Channel means as a global average pooling (XNNPACK): 4-12x faster on wasm than a Mean over
    // the spatial axes (measured at 64-256 px, 4-64 channels).
    const [, h, w] = x.shape;
    const channelMeans = (t: tf.Tensor4D) => tf.avgPool(t, [h, w], 1, 'valid').dataSync();
    const mean = channelMeans(x);
    const centred = perChannel(new Float32Array(c).fill(1), mean.map((m) => -m) as Float32Array, x);
    const variance = channelMeans(tf.square(centred));
    const gamma = this.gamma?.read().dataSync();
    const beta = this.beta?.read().dataSync();
    const scale = Float32Array.from(variance, (v, i) => (gamma ? gamma[i] : 1) / Math.sqrt(v + this.epsilon));
    return perChannel(scale, beta ? Float32Array.from(beta) : new Float32Array(c), centred);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, center: this.center, scale: this.scale };
  }
}

/**
 * Edge (replicate) padding, [[top, bottom], [left, right]]: the border rows and columns repeated,
 * as ONNX Pad mode 'edge' / torch ReplicationPad2d. Built from slices, tiles and concatenation, whose
 * gradients tfjs has on every backend.
 */
export class EdgePadding2D extends tf.layers.Layer {
  static className = 'EdgePadding2D';
  readonly padding: [[number, number], [number, number]];

  constructor(config: { padding: [[number, number], [number, number]]; name?: string } & Kwargs) {
    super(config);
    const [[t, b], [l, r]] = config.padding;
    this.padding = [
      [t, b],
      [l, r],
    ];
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const grow = (d: number | null, [a, b]: [number, number]) => (d == null ? null : d + a + b);
    return [s[0], grow(s[1], this.padding[0]), grow(s[2], this.padding[1]), s[3]];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const along = (t: tf.Tensor4D, axis: 1 | 2, [before, after]: [number, number]) => {
        const n = t.shape[axis];
        const edge = (start: number, times: number) => {
          const begin = [0, 0, 0, 0];
          const size = [-1, -1, -1, -1];
          const reps = [1, 1, 1, 1];
          begin[axis] = start;
          size[axis] = 1;
          reps[axis] = times;
          return tf.tile(tf.slice(t, begin, size), reps);
        };
        const parts = [...(before ? [edge(0, before)] : []), t, ...(after ? [edge(n - 1, after)] : [])];
        return parts.length === 1 ? t : (tf.concat(parts, axis) as tf.Tensor4D);
      };
      return along(along(x, 1, this.padding[0]), 2, this.padding[1]);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

tf.serialization.registerClass(ReflectionPadding2D);
tf.serialization.registerClass(EdgePadding2D);
tf.serialization.registerClass(InstanceNormalization);

export function reflectionPadding2d(padding: number, name: string): ReflectionPadding2D {
  return new ReflectionPadding2D({ padding, name });
}

export function instanceNorm(name: string): InstanceNormalization {
  return new InstanceNormalization({ name });
}
