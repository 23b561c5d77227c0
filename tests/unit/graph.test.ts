import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChannelGraph, UnsupportedModelError } from '../../src/core/graph/channel-graph';
import { buildGenerator, defaultSpec } from '../../src/core/models/zoo';
import { denseBlockModel } from '../helpers/models';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const channels = (g: ReturnType<typeof readChannelGraph>, name: string) => g.byName.get(name)!.channels;

describe('channel groups', () => {
  it('Add couples the residual trunk of a ResNet generator across all blocks', () => {
    const g = readChannelGraph(buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 3 })));
    const trunk = channels(g, 'down2_conv');
    expect(trunk).toHaveLength(16);
    for (const b of [1, 2, 3]) {
      expect(channels(g, `block${b}_conv2`)).toEqual(trunk);
      expect(channels(g, `block${b}_add`)).toEqual(trunk);
    }
    // The inner conv of a block is its own group set, independent of the trunk.
    expect(channels(g, 'block1_conv1').some((c) => trunk.includes(c))).toBe(false);
    // A trunk group is carried by 1 + 3 producers.
    expect(g.groups[trunk[0]].width).toBe(4);
    expect(g.groups[trunk[0]].prunable).toBe(true);
  });

  it('Concatenate lays channels side by side (U-Net skips)', () => {
    const g = readChannelGraph(buildGenerator(defaultSpec('unet', { ngf: 4, size: 32, depth: 4 })));
    expect(channels(g, 'dec1_concat')).toEqual([...channels(g, 'enc1_conv'), ...channels(g, 'dec1_norm')]);
    // Norms follow their input's groups.
    expect(channels(g, 'dec1_norm')).toEqual(channels(g, 'dec1_convt'));
  });

  it('model inputs and outputs are pinned, everything else in a zoo model is prunable', () => {
    const model = buildGenerator(defaultSpec('resnet', { ngf: 4, size: 32, depth: 1 }));
    const g = readChannelGraph(model);
    for (const c of channels(g, 'head_conv')) expect(g.groups[c].prunable).toBe(false);
    for (const c of channels(g, 'input')) expect(g.groups[c].pinnedBy).toMatch(/model input/);
    const pinned = g.groups.filter((x) => !x.prunable);
    expect(pinned).toHaveLength(6);
  });

  it('dense block: concat feeding add couples the stem with the fused output', () => {
    const g = readChannelGraph(denseBlockModel());
    expect(channels(g, 'fuse')).toEqual(channels(g, 'stem'));
    expect(channels(g, 'dense3_cat')).toEqual([...channels(g, 'stem'), ...channels(g, 'dense1'), ...channels(g, 'dense2'), ...channels(g, 'dense3')]);
    expect(channels(g, 'dw')).toEqual(channels(g, 'stem'));
  });

  it('activations that are not zero at zero pin their channels', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 'gate' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'free' }).apply(a) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'out' }).apply(b) as tf.SymbolicTensor;
    const g = readChannelGraph(tf.model({ inputs: input, outputs: out }));
    expect(g.groups[channels(g, 'gate')[0]].pinnedBy).toMatch(/sigmoid/);
    expect(g.groups[channels(g, 'free')[0]].prunable).toBe(true);
  });

  it('a depthwise conv with multiplier > 1 pins both sides', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as tf.SymbolicTensor;
    const d = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw2' }).apply(a) as tf.SymbolicTensor;
    const out = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'out' }).apply(d) as tf.SymbolicTensor;
    const g = readChannelGraph(tf.model({ inputs: input, outputs: out }));
    expect(g.groups[channels(g, 'a')[0]].prunable).toBe(false);
    expect(channels(g, 'dw2')).toHaveLength(8);
  });
});

describe('unsupported models fail with the layer, its class and what is supported', () => {
  it('names a Dense layer after Flatten', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const f = tf.layers.flatten({ name: 'flat' }).apply(c) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'logits' }).apply(f) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(() => readChannelGraph(model)).toThrow(UnsupportedModelError);
    expect(() => readChannelGraph(model)).toThrow(/Layer 'flat' \(class Flatten\) is not supported\. Supported layers: InputLayer, Conv2D/);
  });

  it('refuses a layer applied twice', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const shared = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'shared' });
    const out = shared.apply(shared.apply(input)) as tf.SymbolicTensor;
    expect(() => readChannelGraph(tf.model({ inputs: input, outputs: out }))).toThrow(/'shared' \(class Conv2D\) is applied more than once/);
  });

  it('refuses concatenation along a spatial axis', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ axis: 1, name: 'rows' }).apply([input, a]) as tf.SymbolicTensor;
    expect(() => readChannelGraph(tf.model({ inputs: input, outputs: cat }))).toThrow(/'rows' \(class Concatenate\) concatenates along axis 1/);
  });
});
