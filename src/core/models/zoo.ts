/**
 * Generator architectures of the paper's tasks, parameterised by width, depth and resolution.
 * Layer names are stable (they are how distillation maps teacher and student features).
 */
import * as tf from '@tensorflow/tfjs';
import { instanceNorm, reflectionPadding2d } from './layers';

type SymbolicTensor = tf.SymbolicTensor;

export type Arch = 'resnet' | 'unet' | 'globalgen';
export const ARCHS: readonly Arch[] = ['resnet', 'unet', 'globalgen'];

export interface GeneratorSpec {
  arch: Arch;
  /** Width of the first layer; later layers are multiples of it. */
  ngf: number;
  /** Spatial input size; null builds a model that accepts any size divisible by its stride. */
  size: number | null;
  inChannels: number;
  outChannels: number;
  /** Residual blocks (resnet, globalgen) or down-sampling levels (unet). */
  depth: number;
  /** Stride-2 down-samplings before the residual blocks (resnet 2, globalgen 4). */
  downsamplings?: number;
  norm?: 'instance' | 'batch';
  seed?: number;
}

export function defaultSpec(arch: Arch, overrides: Partial<GeneratorSpec> = {}): GeneratorSpec {
  const base: Record<Arch, GeneratorSpec> = {
    resnet: { arch, ngf: 64, size: 256, inChannels: 3, outChannels: 3, depth: 9, downsamplings: 2, norm: 'instance' },
    unet: { arch, ngf: 64, size: 256, inChannels: 3, outChannels: 3, depth: 8, norm: 'batch' },
    globalgen: { arch, ngf: 64, size: 256, inChannels: 19, outChannels: 3, depth: 9, downsamplings: 4, norm: 'instance' },
  };
  return { ...base[arch], ...overrides };
}

class Builder {
  private seed: number;
  constructor(
    seed: number,
    private readonly normKind: 'instance' | 'batch',
  ) {
    this.seed = seed;
  }

  private init() {
    return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.seed++ });
  }

  conv(x: SymbolicTensor, filters: number, kernel: number, stride: number, padding: 'same' | 'valid', name: string) {
    return tf.layers
      .conv2d({ filters, kernelSize: kernel, strides: stride, padding, kernelInitializer: this.init(), name })
      .apply(x) as SymbolicTensor;
  }

  convT(x: SymbolicTensor, filters: number, kernel: number, name: string) {
    return tf.layers
      .conv2dTranspose({ filters, kernelSize: kernel, strides: 2, padding: 'same', kernelInitializer: this.init(), name })
      .apply(x) as SymbolicTensor;
  }

  norm(x: SymbolicTensor, name: string) {
    const layer =
      this.normKind === 'instance'
        ? instanceNorm(name)
        : tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
    return layer.apply(x) as SymbolicTensor;
  }

  relu(x: SymbolicTensor, name: string) {
    return tf.layers.reLU({ name }).apply(x) as SymbolicTensor;
  }

  lrelu(x: SymbolicTensor, name: string) {
    return tf.layers.leakyReLU({ alpha: 0.2, name }).apply(x) as SymbolicTensor;
  }

  tanh(x: SymbolicTensor, name: string) {
    return tf.layers.activation({ activation: 'tanh', name }).apply(x) as SymbolicTensor;
  }

  reflect(x: SymbolicTensor, p: number, name: string) {
    return reflectionPadding2d(p, name).apply(x) as SymbolicTensor;
  }
}

/**
 * CycleGAN ResNet generator (Johnson et al.): c7s1-ngf, stride-2 down-samplings, residual blocks
 * with reflection padding and instance norm, transposed-conv up-sampling, c7s1-out + tanh.
 * With 4 down-samplings and a label-map input it is pix2pixHD's global generator.
 */
function resnetLike(spec: GeneratorSpec, b: Builder, input: SymbolicTensor): SymbolicTensor {
  const downs = spec.downsamplings ?? 2;
  let x = b.reflect(input, 3, 'stem_pad');
  x = b.relu(b.norm(b.conv(x, spec.ngf, 7, 1, 'valid', 'stem_conv'), 'stem_norm'), 'stem_relu');
  for (let i = 1; i <= downs; i++) {
    const f = spec.ngf * 2 ** i;
    x = b.relu(b.norm(b.conv(x, f, 3, 2, 'same', `down${i}_conv`), `down${i}_norm`), `down${i}_relu`);
  }
  const width = spec.ngf * 2 ** downs;
  for (let i = 1; i <= spec.depth; i++) {
    let y = b.reflect(x, 1, `block${i}_pad1`);
    y = b.relu(b.norm(b.conv(y, width, 3, 1, 'valid', `block${i}_conv1`), `block${i}_norm1`), `block${i}_relu`);
    y = b.reflect(y, 1, `block${i}_pad2`);
    y = b.norm(b.conv(y, width, 3, 1, 'valid', `block${i}_conv2`), `block${i}_norm2`);
    x = tf.layers.add({ name: `block${i}_add` }).apply([x, y]) as SymbolicTensor;
  }
  for (let i = downs - 1; i >= 0; i--) {
    const f = spec.ngf * 2 ** i;
    const k = downs - i;
    x = b.relu(b.norm(b.convT(x, f, 3, `up${k}_convt`), `up${k}_norm`), `up${k}_relu`);
  }
  x = b.reflect(x, 3, 'head_pad');
  return b.tanh(b.conv(x, spec.outChannels, 7, 1, 'valid', 'head_conv'), 'head_tanh');
}

/** pix2pix U-Net: 4x4 stride-2 encoder, transposed-conv decoder, skips joined by Concatenate. */
function unet(spec: GeneratorSpec, b: Builder, input: SymbolicTensor): SymbolicTensor {
  const levels = spec.depth;
  if (levels < 2) throw new Error('unet needs depth >= 2');
  const width = (i: number) => spec.ngf * Math.min(2 ** (i - 1), 8);
  const skips: SymbolicTensor[] = [];
  let x = b.conv(input, width(1), 4, 2, 'same', 'enc1_conv');
  skips.push(x);
  for (let i = 2; i <= levels; i++) {
    x = b.conv(b.lrelu(x, `enc${i}_lrelu`), width(i), 4, 2, 'same', `enc${i}_conv`);
    if (i < levels) x = b.norm(x, `enc${i}_norm`);
    skips.push(x);
  }
  for (let i = levels - 1; i >= 1; i--) {
    x = b.norm(b.convT(b.relu(x, `dec${i}_relu`), width(i), 4, `dec${i}_convt`), `dec${i}_norm`);
    x = tf.layers.concatenate({ axis: -1, name: `dec${i}_concat` }).apply([skips[i - 1], x]) as SymbolicTensor;
  }
  x = b.convT(b.relu(x, 'head_relu'), spec.outChannels, 4, 'head_convt');
  return b.tanh(x, 'head_tanh');
}

/** Smallest input side the architecture accepts (and every size must be a multiple of it). */
export function sizeMultiple(spec: GeneratorSpec): number {
  return spec.arch === 'unet' ? 2 ** spec.depth : 2 ** (spec.downsamplings ?? 2);
}

export function buildGenerator(spec: GeneratorSpec): tf.LayersModel {
  const m = sizeMultiple(spec);
  if (spec.size != null && spec.size % m !== 0) {
    throw new Error(`${spec.arch} with these settings needs an input size divisible by ${m}, got ${spec.size}`);
  }
  const b = new Builder(spec.seed ?? 1, spec.norm ?? (spec.arch === 'unet' ? 'batch' : 'instance'));
  const input = tf.input({ shape: [spec.size, spec.size, spec.inChannels], name: 'input' });
  const output = spec.arch === 'unet' ? unet(spec, b, input) : resnetLike(spec, b, input);
  return tf.model({ inputs: input, outputs: output, name: `${spec.arch}_ngf${spec.ngf}` });
}
