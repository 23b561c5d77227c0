/**
 * Distillation helpers: which intermediate layers to match between teacher and student, feature
 * extractors sharing the models' weights, and the learnable 1x1 adapters (student width ->
 * teacher width) that make features of different widths comparable. Adapters are training-only.
 */
import * as tf from '@tensorflow/tfjs';

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
