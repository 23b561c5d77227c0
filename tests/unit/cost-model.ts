/**
 * A deterministic stand-in for timing a model, so tests of code that decides from measured time
 * never depend on how fast (or how busy) the machine is: latency = MACs / throughput + a fixed
 * cost per layer, optionally multiplied by seeded noise.
 */
import type * as tf from '@tensorflow/tfjs';
import { readChannelGraph } from '../../src/core/graph/channel-graph';
import { modelCost } from '../../src/core/measure/cost';
import { summarise, type LatencyMeasurer } from '../../src/core/measure/latency';
import { Rng } from '../../src/core/train/rng';

export interface CostModel {
  /** Multiply-accumulates per millisecond. */
  macsPerMs: number;
  /** Dispatch cost of each layer, ms. */
  msPerLayer: number;
  /** Each measurement is multiplied by a seeded factor in [1 - noise, 1 + noise]. */
  noise?: number;
  seed?: number;
}

export function costModelMs(model: tf.LayersModel, inputShape: number[], c: CostModel): number {
  const cost = modelCost(readChannelGraph(model), [inputShape[1], inputShape[2]]);
  return cost.macs / c.macsPerMs + model.layers.length * c.msPerLayer;
}

export function costModelMeasurer(c: CostModel): LatencyMeasurer & { calls: number } {
  const rng = new Rng(c.seed ?? 1);
  const measurer = async (model: tf.LayersModel, inputShape: number[]) => {
    measurer.calls++;
    const factor = 1 + (c.noise ?? 0) * rng.range(-1, 1);
    return { backend: 'cost-model', inputShape, ...summarise([costModelMs(model, inputShape, c) * factor]) };
  };
  measurer.calls = 0;
  return measurer;
}
