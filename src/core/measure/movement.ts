/**
 * How far training moved a model from its initial weights, per layer: ‖W − W₀‖ / ‖W₀‖ over all
 * of a layer's weights (kernels, biases, norm scales and offsets). A barely trained model shows
 * values near 0; a trained one shows clearly non-zero movement in every layer.
 */
import type * as tf from '@tensorflow/tfjs';

export interface LayerMovement {
  layer: string;
  className: string;
  /** Relative L2 change of the layer's weights; Infinity where they started at zero and moved. */
  relative: number;
  /** L2 norm of the change. */
  change: number;
}

export async function weightMovement(initial: tf.LayersModel, trained: tf.LayersModel): Promise<LayerMovement[]> {
  const out: LayerMovement[] = [];
  for (const layer of trained.layers) {
    const weights = layer.getWeights();
    if (!weights.length) continue;
    const before = initial.getLayer(layer.name).getWeights();
    if (before.length !== weights.length) throw new Error(`Layer '${layer.name}' has a different set of weights in the initial model`);
    let diff = 0;
    let base = 0;
    for (let i = 0; i < weights.length; i++) {
      const [a, b] = [await weights[i].data(), await before[i].data()];
      if (a.length !== b.length) throw new Error(`Layer '${layer.name}' weight ${i} has a different shape in the initial model`);
      for (let j = 0; j < a.length; j++) {
        diff += (a[j] - b[j]) ** 2;
        base += b[j] ** 2;
      }
    }
    const change = Math.sqrt(diff);
    out.push({ layer: layer.name, className: layer.getClassName(), change, relative: base > 0 ? change / Math.sqrt(base) : change > 0 ? Infinity : 0 });
  }
  return out;
}

/** One line per layer, for terminals and logs. */
export function formatMovement(rows: LayerMovement[]): string {
  return rows.map((r) => `${r.layer.padEnd(24)} ${r.className.padEnd(24)} ${(r.relative * 100).toFixed(1).padStart(8)}%`).join('\n');
}
