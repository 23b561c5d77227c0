/** Argument parsing and terminal output shared by the CLI commands. */
import { parseArgs } from 'node:util';
import { EXPORT_FORMATS, type ExportFormat } from '../core/io/formats';

export class UsageError extends Error {}

export const OPTIONS = {
  arch: { type: 'string' },
  out: { type: 'string' },
  ngf: { type: 'string' },
  blocks: { type: 'string' },
  size: { type: 'string' },
  'in-channels': { type: 'string' },
  'out-channels': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  budget: { type: 'string' },
  backend: { type: 'string' },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  force: { type: 'boolean' },
  model: { type: 'string' },
  data: { type: 'string' },
  targets: { type: 'string' },
  'input-range': { type: 'string' },
  steps: { type: 'string' },
  teacher: { type: 'string' },
  resume: { type: 'string' },
  'held-out': { type: 'string' },
  sparsity: { type: 'string' },
  lr: { type: 'string' },
  batch: { type: 'string' },
  task: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  loss: { type: 'string' },
  spec: { type: 'string' },
  count: { type: 'string' },
  preset: { type: 'string' },
  'label-classes': { type: 'string' },
  'side-by-side': { type: 'string' },
  flip: { type: 'string' },
  jitter: { type: 'string' },
  layers: { type: 'boolean' },
  from: { type: 'string' },
  time: { type: 'string' },
  selection: { type: 'string' },
  'pixel-loss': { type: 'string' },
  'channel-multiple': { type: 'string' },
  compensate: { type: 'string' },
  'teacher-cache': { type: 'string' },
  format: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
}

export type Values = ReturnType<typeof parse>['values'];

export function int(values: Values, key: keyof Values, fallback?: number): number | undefined {
  const raw = values[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${key} must be a positive integer, got '${raw}'`);
  return n;
}

/** A model format named by --format / --to (absent: tfjs Layers). */
export function exportFormat(name: string | undefined, option = 'format'): ExportFormat {
  const format = name ?? 'tfjs-layers';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--${option} must be one of ${EXPORT_FORMATS.join(', ')}, got '${format}'`);
  return format as ExportFormat;
}

export function num(values: Values, key: keyof Values, fallback: number): number {
  const raw = values[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${key} must be a number >= 0, got '${raw}'`);
  return n;
}

/** Parses 'a=1,b=2' into a record of numbers, allowing only the given keys. */
export function keyValues(text: string, option: string, allowed: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [k, v] = part.split('=');
    const n = Number(v);
    if (!allowed.includes(k) || v === undefined || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`--${option} takes ${allowed.map((a) => `${a}=N`).join(',')}; '${part}' is not understood`);
    }
    out[k] = n;
  }
  return out;
}

/** A progress bar on stderr: redrawn in place on a terminal, one line per 10% otherwise. */
export function progressBar(label: string) {
  let lastDecile = -1;
  return (done: number, total: number, detail = '') => {
    const width = 24;
    const filled = Math.round((done / total) * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line.padEnd(100)}`);
      if (done === total) process.stderr.write('\n');
      return;
    }
    const decile = Math.floor((done / total) * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      process.stderr.write(`${line}\n`);
    }
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The model path a command takes as its first argument. */
export function modelArg(positionals: string[]): string {
  if (!positionals[1]) throw new UsageError(`'${positionals[0]}' needs a model: a model.json file or its folder`);
  return positionals[1];
}
