/**
 * Which axis of each weight of a layer runs over output channels and which over input channels.
 * Pruning slices along these axes, condensation zeroes along them, and the parameter counter
 * multiplies the remaining sizes, so all three agree by construction.
 */
import type { GraphLayer } from './channel-graph';

export interface WeightAxes {
  /** Axis indexed by the layer's own (output) channels, or null. */
  out: number | null;
  /** Axis indexed by the layer's input channels, or null. */
  in: number | null;
}

export function weightAxes(layer: GraphLayer, rank: number): WeightAxes {
  if (rank === 1) return { out: 0, in: null };
  if (rank !== 4) throw new Error(`Layer '${layer.name}': unexpected rank-${rank} weight`);
  switch (layer.className) {
    case 'Conv2D':
      return { out: 3, in: 2 }; // [kh, kw, in, out]
    case 'Conv2DTranspose':
      return { out: 2, in: 3 }; // [kh, kw, out, in]
    case 'DepthwiseConv2D':
      // [kh, kw, in, multiplier]; with multiplier 1 the channels follow the input.
      return { out: 2, in: null };
    default:
      throw new Error(`Layer '${layer.name}' (${layer.className}): no rule for a rank-4 weight`);
  }
}
