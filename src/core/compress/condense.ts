/**
 * Condensation: group-sparsity fine-tuning. After every optimizer step, a proximal (group
 * soft-threshold) step shrinks each prunable channel group's parameters as one vector:
 *   theta_g <- theta_g * max(0, 1 - tau_g / ||theta_g||),
 * which sets whole groups to exactly zero (a plain L1 term only makes them small). tau_g is the
 * step's strength times the group's share of the model's MACs, so expensive channels are pushed
 * harder: the sparsity goes where it saves the most compute.
 */
import type { ChannelGraph } from '../graph/channel-graph';
import { modelCost } from '../measure/cost';
import { groupMacs, groupNorms, MIN_LAYER_SHARE, scaleGroups } from './prune';
import type { Budget } from './budget';

export class GroupSparsity {
  /** Per group: the multiplier on tau (0 for pinned groups). */
  private readonly weight: Float64Array;

  constructor(
    private readonly graph: ChannelGraph,
    private readonly size: [number, number],
  ) {
    const macs = groupMacs(graph, size);
    const prunable = graph.groups.filter((g) => g.prunable);
    const mean = prunable.reduce((s, g) => s + macs[g.id], 0) / Math.max(prunable.length, 1);
    this.weight = Float64Array.from(graph.groups, (g) => (g.prunable && mean > 0 ? macs[g.id] / mean : 0));
  }

  /**
   * Groups exempt from shrinking: in every conv layer, the strongest groups that keep it at
   * MIN_LAYER_SHARE of its channels (at least one), so condensation never empties a layer.
   */
  private protectedGroups(norm: Float64Array): Set<number> {
    const keep = new Set<number>();
    for (const l of this.graph.layers) {
      if (l.role !== 'source') continue;
      const floor = Math.max(1, Math.ceil(MIN_LAYER_SHARE * l.channels.length));
      const strongest = [...new Set(l.channels)].sort((a, b) => norm[b] - norm[a]);
      const alreadyKept = strongest.filter((g) => keep.has(g) || !this.graph.groups[g].prunable).length;
      strongest.filter((g) => this.graph.groups[g].prunable && !keep.has(g)).slice(0, Math.max(0, floor - alreadyKept)).forEach((g) => keep.add(g));
    }
    return keep;
  }

  /** Applies the proximal step with strength tau; returns how many prunable groups are now zero. */
  async prox(tau: number): Promise<number> {
    const { norm } = await groupNorms(this.graph);
    const exempt = this.protectedGroups(norm);
    let dead = 0;
    const factor = Float64Array.from(norm, (n, g) => {
      if (this.weight[g] === 0 || exempt.has(g)) return 1;
      const f = n > 0 ? Math.max(0, 1 - (tau * this.weight[g]) / n) : 0;
      if (f === 0) dead++;
      return f;
    });
    scaleGroups(this.graph, factor, false);
    return dead;
  }

  /** Mean norm of the prunable groups: the unit the sparsity strength is given in. */
  async meanNorm(): Promise<number> {
    const { norm } = await groupNorms(this.graph);
    const prunable = this.graph.groups.filter((g) => g.prunable);
    return prunable.reduce((s, g) => s + norm[g.id], 0) / Math.max(prunable.length, 1);
  }

  /** Whether removing just the groups now at zero would meet a MACs or params budget. */
  async meetsBudget(budget: Extract<Budget, { keep: number }>): Promise<boolean> {
    const { norm } = await groupNorms(this.graph);
    const dead = new Set(this.graph.groups.filter((g) => g.prunable && norm[g.id] === 0).map((g) => g.id));
    const full = modelCost(this.graph, this.size);
    const now = modelCost(this.graph, this.size, dead);
    return budget.kind === 'macs' ? now.macs <= full.macs * budget.keep : now.params <= full.params * budget.keep;
  }

  /** Alive (non-zero) output channels of every conv layer, for progress reports. */
  async aliveByLayer(): Promise<{ layer: string; alive: number; total: number }[]> {
    const { norm } = await groupNorms(this.graph);
    return this.graph.layers
      .filter((l) => l.role === 'source')
      .map((l) => ({ layer: l.name, alive: l.channels.filter((g) => norm[g] > 0).length, total: l.channels.length }));
  }
}
