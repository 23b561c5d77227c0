/** A compression budget as written ('macs=0.25', 'params=0.5', 'threshold=1e-3', 'fps=30@256'), parsed. Pure: the page validates with it. */
export type Budget =
  | { kind: 'macs'; keep: number }
  | { kind: 'params'; keep: number }
  | { kind: 'threshold'; value: number }
  /** Frames per second measured on the current backend, at `size` (null: the run's size). */
  | { kind: 'fps'; fps: number; size: number | null };

export function parseBudget(text: string): Budget {
  const fps = /^fps=([0-9.]+)(?:@([0-9]+))?$/.exec(text.trim());
  if (fps) {
    const value = Number(fps[1]);
    if (!(value > 0 && value <= 1000)) throw new Error(`An FPS budget must be in (0, 1000], got ${fps[1]}`);
    const size = fps[2] ? Number(fps[2]) : null;
    if (size !== null && size < 8) throw new Error(`The FPS budget's resolution must be at least 8 px, got ${size}`);
    return { kind: 'fps', fps: value, size };
  }
  const m = /^(macs|params|threshold)=([0-9.eE+-]+)$/.exec(text.trim());
  const value = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(value)) {
    throw new Error(`Budget '${text}' is not understood; use macs=0.25, params=0.5, threshold=1e-3 or fps=30 (fps=30@256 for the FPS at 256x256)`);
  }
  const kind = m[1] as 'macs' | 'params' | 'threshold';
  if (kind === 'threshold') {
    if (value < 0) throw new Error(`A threshold must be >= 0, got ${value}`);
    return { kind, value };
  }
  if (!(value > 0 && value <= 1)) throw new Error(`A ${kind} budget is the fraction to keep, in (0, 1]; got ${value}`);
  return { kind, keep: value };
}
