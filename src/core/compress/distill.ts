/**
 * Distillation helpers: which intermediate layers to match between teacher and student, feature
 * extractors sharing the models' weights, and the learnable 1x1 adapters (student width ->
 * teacher width) that make features of different widths comparable. Adapters are training-only.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/dataset';
import { Rng } from '../train/rng';

/**
 * Layers to match, by name (pruning keeps names). For the ResNet generators: after the last
 * down-sampling and after every third residual block, as GAN Compression does. Otherwise up to
 * three merge or activation layers spread evenly through the network.
 */
export function featureLayers(teacher: tf.LayersModel, student: tf.LayersModel): string[] {
  const inBoth = (name: string) => {
    try {
      return Boolean(teacher.getLayer(name) && student.getLayer(name));
    } catch {
      return false;
    }
  };
  const names = teacher.layers.map((l) => l.name);
  const downs = names.filter((n) => /^down\d+_relu$/.test(n));
  const blocks = names.filter((n) => /^block\d+_add$/.test(n));
  if (downs.length && blocks.length) {
    const every3 = blocks.filter((n) => Number(/\d+/.exec(n)![0]) % 3 === 0);
    return [downs[downs.length - 1], ...every3].filter(inBoth);
  }
  const candidates = teacher.layers
    .slice(1, -2)
    .filter((l) => ['Add', 'Concatenate', 'ReLU', 'LeakyReLU', 'Activation'].includes(l.getClassName()))
    .map((l) => l.name)
    .filter(inBoth);
  if (candidates.length <= 3) return candidates;
  return [1, 2, 3].map((k) => candidates[Math.floor((k * candidates.length) / 4)]);
}

/** A model returning [output, ...features] that shares the given model's layers and weights. */
export function withFeatures(model: tf.LayersModel, layers: string[]): tf.LayersModel {
  const outputs = [model.outputs[0], ...layers.map((n) => model.getLayer(n).output as tf.SymbolicTensor)];
  return tf.model({ inputs: model.inputs, outputs });
}

export function channelsOf(model: tf.LayersModel, layer: string): number {
  const shape = model.getLayer(layer).outputShape as number[];
  return shape[shape.length - 1];
}

/** 1x1 conv kernels [1, 1, studentC, teacherC], deterministic for a seed. */
export function createAdapters(teacher: tf.LayersModel, student: tf.LayersModel, layers: string[], seed: number): tf.Variable[] {
  return layers.map((name, i) => {
    const s = channelsOf(student, name);
    const t = channelsOf(teacher, name);
    return tf.variable(tf.randomNormal([1, 1, s, t], 0, Math.sqrt(1 / s), 'float32', seed + i), true, `adapter_${name}`);
  });
}

/** Mean squared distance between adapted student features and teacher features. */
export function featureLoss(studentFeatures: tf.Tensor[], teacherFeatures: tf.Tensor[], adapters: tf.Variable[]): tf.Scalar {
  const terms = studentFeatures.map((f, i) =>
    tf.mean(tf.squaredDifference(tf.conv2d(f as tf.Tensor4D, adapters[i] as tf.Tensor4D, 1, 'valid'), teacherFeatures[i])),
  );
  return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
}

/**
 * The teacher's outputs (and matched features), computed once for a fixed set of augmented crops:
 * distilling a small student, the teacher's forward pass costs several times the student's step.
 * The crops come from their own seed, so a resumed run rebuilds the same pool.
 */
export class TeacherPool {
  private constructor(
    readonly x: tf.Tensor4D,
    readonly y: tf.Tensor4D | null,
    /** The teacher's output, then its features. */
    readonly reference: tf.Tensor[],
  ) {}

  get size(): number {
    return this.x.shape[0];
  }

  /** At most `count` crops, and no more than fit in `maxBytes` (default 256 MiB) with their outputs. */
  static async build(teacher: tf.LayersModel, data: ImageDataset, o: { count: number; size: number; flip: boolean; seed: number; maxBytes?: number }): Promise<TeacherPool> {
    const rng = new Rng(o.seed);
    const xs: tf.Tensor4D[] = [];
    const ys: tf.Tensor4D[] = [];
    const refs: tf.Tensor[][] = [];
    let count = o.count;
    for (let done = 0; done < count; done += 8) {
      const { x, y } = data.batch(rng, Math.min(8, count - done), o.flip, o.size);
      const out = teacher.predict(x);
      xs.push(x);
      if (y) ys.push(y);
      refs.push(Array.isArray(out) ? out : [out]);
      await refs[refs.length - 1][0].data(); // one chunk at a time: keeps the GPU queue short
      if (done === 0) {
        const bytes = [x, y, ...refs[0]].reduce((sum, t) => sum + (t ? t.size * 4 : 0), 0) / x.shape[0];
        count = Math.max(1, Math.min(count, Math.floor((o.maxBytes ?? 256 * 2 ** 20) / bytes)));
      }
    }
    const join = <T extends tf.Tensor>(parts: T[]) => {
      const all = parts.length === 1 ? parts[0] : (tf.concat(parts) as T);
      if (parts.length > 1) tf.dispose(parts);
      return all;
    };
    return new TeacherPool(join(xs), ys.length ? join(ys) : null, refs[0].map((_, i) => join(refs.map((r) => r[i]))));
  }

  /** A random batch (with replacement) of crops, ground truth where paired, and the teacher's outputs. */
  batch(rng: Rng, n: number): { x: tf.Tensor4D; y: tf.Tensor4D | null; reference: tf.Tensor[] } {
    const idx = tf.tensor1d(Array.from({ length: n }, () => rng.int(this.size)), 'int32');
    const pick = <T extends tf.Tensor>(t: T) => tf.gather(t, idx) as T;
    const result = { x: pick(this.x), y: this.y ? pick(this.y) : null, reference: this.reference.map(pick) };
    idx.dispose();
    return result;
  }

  dispose(): void {
    tf.dispose([this.x, ...this.reference]);
    this.y?.dispose();
  }
}
