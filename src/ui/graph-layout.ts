/**
 * Where the Models page draws a network's edges: layers one per row in topological order, an edge
 * from the row just above as a short straight line, and every other edge (skips, residual adds,
 * concatenations) as an arc on the left in a lane of its own wherever arcs overlap in rows.
 */
export interface SkipEdge {
  from: number;
  to: number;
  /** 0 is nearest the boxes. */
  lane: number;
}

export function layoutEdges(layers: { name: string; inputs: string[] }[]): { skips: SkipEdge[]; lanes: number } {
  const row = new Map(layers.map((l, i) => [l.name, i]));
  const edges = layers.flatMap((l, to) => l.inputs.map((name) => ({ from: row.get(name)!, to }))).filter((e) => e.from !== e.to - 1);
  // Short arcs first, so they take the inner lanes and long ones go round them.
  edges.sort((a, b) => a.to - a.from - (b.to - b.from) || a.from - b.from);
  const taken: { from: number; to: number }[][] = [];
  const skips = edges.map((e) => {
    let lane = taken.findIndex((spans) => spans.every((s) => e.to <= s.from || e.from >= s.to));
    if (lane < 0) lane = taken.push([]) - 1;
    taken[lane].push(e);
    return { ...e, lane };
  });
  return { skips, lanes: taken.length };
}
