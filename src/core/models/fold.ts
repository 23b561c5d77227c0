/**
 * An inference copy of a model with each batch norm folded into the convolution before it, and a
 * ReLU after that folded into the convolution's activation: with the moving statistics a batch
 * norm is a per-channel scale and shift, so conv -> BN -> ReLU computes exactly what one fused
 * convolution (bias + ReLU, tfjs's FusedConv2D) computes, in one kernel instead of three. A
 * transposed convolution takes its norm too (tfjs fuses no activation into it).
 * Instance norms depend on each frame's statistics and stay. Training keeps the original.
 */
import * as tf from '@tensorflow/tfjs';

type LayerJSON = { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: [string, number, number, unknown][][] };
type Topology = { config: { layers: LayerJSON[]; output_layers: [string, number, number][] } };

interface Fold {
  conv: string;
  norm: string;
  relu?: string;
}

/** Which layers read `name`'s output, in the topology. */
function consumers(layers: LayerJSON[], name: string): LayerJSON[] {
  return layers.filter((l) => l.inbound_nodes.some((node) => node.some(([from]) => from === name)));
}

function isPlainRelu(l: LayerJSON): boolean {
  const c = l.config;
  if (l.class_name === 'ReLU') return (c.max_value ?? null) === null && !c.threshold && !c.negative_slope;
  return l.class_name === 'Activation' && c.activation === 'relu';
}

/** The conv -> batch norm [-> ReLU] chains that fold, each link the only reader of the one before. */
function foldable(topology: Topology): Fold[] {
  const { layers } = topology.config;
  const outputs = new Set(topology.config.output_layers.map(([name]) => name));
  const folds: Fold[] = [];
  for (const conv of layers) {
    if (!['Conv2D', 'Conv2DTranspose'].includes(conv.class_name) || conv.config.activation !== 'linear' || conv.inbound_nodes.length !== 1 || outputs.has(conv.name)) continue;
    const [norm, ...more] = consumers(layers, conv.name);
    if (more.length || norm?.class_name !== 'BatchNormalization' || norm.inbound_nodes.length !== 1) continue;
    // Only the channel axis, and gamma and beta both present (the weights read below).
    if (![-1, 3].includes(norm.config.axis as number) || norm.config.center === false || norm.config.scale === false) continue;
    const after = outputs.has(norm.name) ? [] : consumers(layers, norm.name);
    // tfjs fuses an activation into Conv2D only; a transposed convolution keeps its ReLU.
    const fuses = conv.class_name === 'Conv2D' && after.length === 1 && isPlainRelu(after[0]) && after[0].inbound_nodes.length === 1;
    const relu = fuses ? after[0].name : undefined;
    folds.push({ conv: conv.name, norm: norm.name, ...(relu && { relu }) });
  }
  return folds;
}

/** The folded copy (a new model; `model` is untouched), or null when nothing folds. */
export async function foldBatchNorms(model: tf.LayersModel): Promise<tf.LayersModel | null> {
  const topology = model.toJSON(null, false) as unknown as Topology;
  const folds = foldable(topology);
  if (!folds.length) return null;
  // Readers of a removed norm or ReLU read the convolution instead.
  const renamed = new Map<string, string>();
  for (const f of folds) {
    renamed.set(f.norm, f.conv);
    if (f.relu) renamed.set(f.relu, f.conv);
  }
  const removed = new Set(renamed.keys());
  const layers = topology.config.layers.filter((l) => !removed.has(l.name));
  for (const l of layers) {
    for (const node of l.inbound_nodes) for (const inbound of node) inbound[0] = renamed.get(inbound[0]) ?? inbound[0];
    const fold = folds.find((f) => f.conv === l.name);
    if (fold) Object.assign(l.config, { use_bias: true, activation: fold.relu ? 'relu' : 'linear' });
  }
  topology.config.layers = layers;
  topology.config.output_layers = topology.config.output_layers.map(([name, ...rest]) => [renamed.get(name) ?? name, ...rest]);
  const folded = await tf.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] });

  for (const layer of folded.layers) {
    const fold = folds.find((f) => f.conv === layer.name);
    const source = model.getLayer(layer.name);
    if (!fold) {
      layer.setWeights(source.getWeights());
      continue;
    }
    const [kernel, bias] = source.getWeights();
    const norm = model.getLayer(fold.norm);
    const [gamma, beta, mean, variance] = norm.getWeights();
    const epsilon = norm.getConfig().epsilon as number;
    const weights = tf.tidy(() => {
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
      const b = bias ?? tf.zerosLike(mean);
      // Output channels are the kernel's last axis in Conv2D, its third in Conv2DTranspose.
      const perOut = layer.getClassName() === 'Conv2DTranspose' ? tf.reshape(scale, [1, 1, -1, 1]) : scale;
      return [tf.mul(kernel, perOut), tf.add(tf.mul(tf.sub(b, mean), scale), beta)];
    });
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  return folded;
}
