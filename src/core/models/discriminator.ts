/**
 * PatchGAN discriminator (pix2pix): judges overlapping patches of (input, output) pairs. Used only
 * during training; never part of an exported student.
 */
import * as tf from '@tensorflow/tfjs';
import { instanceNorm } from './layers';

export function buildPatchDiscriminator(inChannels: number, outChannels: number, size: number, ndf = 16, seed = 7): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: s++ });
  const input = tf.input({ shape: [size, size, inChannels + outChannels], name: 'disc_input' });
  let x = input;
  const widths = [ndf, ndf * 2, ndf * 4];
  widths.forEach((f, i) => {
    x = tf.layers.conv2d({ filters: f, kernelSize: 4, strides: i < 2 ? 2 : 1, padding: 'same', kernelInitializer: init(), name: `disc_conv${i + 1}` }).apply(x) as tf.SymbolicTensor;
    if (i > 0) x = instanceNorm(`disc_norm${i + 1}`).apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2, name: `disc_lrelu${i + 1}` }).apply(x) as tf.SymbolicTensor;
  });
  const out = tf.layers.conv2d({ filters: 1, kernelSize: 4, padding: 'same', kernelInitializer: init(), name: 'disc_out' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'patch_discriminator' });
}
