/**
 * Speed vs quality chart from tasks-bench results: the speed-up against the base at the bench's
 * resolution (log scale; measured side by side within each run, so runs made at different times
 * and loads can share one chart) against PSNR vs the base model, one colour per task, each budget
 * a point. --in takes several result files (comma-separated): per task, the rows of every file
 * that compressed the same base model (same parameters and held-out quality) as the last file with that task (stale rows of a retrained
 * base are left out).
 * Writes bench/results/pareto.svg (README) and public/results/pareto.svg (the app's Results).
 *
 *   npx tsx bench/pareto-chart.ts [--in bench/results/tasks-bench.json[,more.json]]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TaskRow } from './tasks-bench';

type Bench = { date: string; machine: string; backend: string; config: { latencySize: number }; rows: TaskRow[] };
const { values } = parseArgs({ options: { in: { type: 'string' } } });
const inputs = (values.in ?? path.join('bench', 'results', 'tasks-bench.json')).split(',');
const benches = inputs.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Bench);
const size = benches[0].config.latencySize;
if (benches.some((b) => b.config.latencySize !== size)) throw new Error('the result files measured latency at different sizes');
// Per task, the rows of every file that compressed the same base as the last file did (a base
// retrained since makes the earlier rows stale); its base row drawn once.
// A base is known by its size and its quality on the held-out targets (a retrained base of the same architecture differs in the second).
const baseOf = (b: Bench, task: string) => {
  const base = b.rows.find((r) => r.task === task && r.variant === 'base (shipped)');
  return base && `${base.params} ${base.vsTargets?.psnr}`;
};
const tasks = [...new Set(benches.flatMap((b) => b.rows.map((r) => r.task)))];
const chosen = tasks.flatMap((task) => {
  const last = benches.filter((b) => b.rows.some((r) => r.task === task)).at(-1)!;
  const current = benches.filter((b) => baseOf(b, task) === baseOf(last, task));
  return [...current.flatMap((b) => b.rows.filter((r) => r.task === task && r.variant !== 'base (shipped)')), ...last.rows.filter((r) => r.task === task && r.variant === 'base (shipped)')];
});
const dates = [...new Set(benches.map((b) => b.date.slice(0, 10)))].sort();

const W = 720;
const H = 440;
const m = { left: 60, right: 200, top: 40, bottom: 50 };
const rows = chosen.filter((r) => r.speedup > 0);
const speedMin = 1 / 1.3;
const speedMax = Math.max(...rows.map((r) => r.speedup)) * 1.3;
const withQuality = rows.filter((r) => r.vsBase);
const qMin = Math.floor(Math.min(...withQuality.map((r) => r.vsBase!.psnr)) - 1);
const qMax = Math.ceil(Math.max(...withQuality.map((r) => r.vsBase!.psnr)) + 1);
const x = (speedup: number) => m.left + ((Math.log(speedup) - Math.log(speedMin)) / (Math.log(speedMax) - Math.log(speedMin))) * (W - m.left - m.right);
// The base has no PSNR against itself: it is drawn at the top edge.
const y = (r: TaskRow) => m.top + (1 - ((r.vsBase?.psnr ?? qMax) - qMin) / (qMax - qMin)) * (H - m.top - m.bottom);
const colours: Record<string, string> = { 'mask-to-face': '#1d3557', 'face-to-cartoon': '#e76f51', unpaired: '#2a9d8f' };
const markers: Record<string, (cx: number, cy: number, c: string) => string> = {
  'base (shipped)': (cx, cy, c) => `<rect x="${cx - 5}" y="${cy - 5}" width="10" height="10" fill="none" stroke="${c}" stroke-width="2"/>`,
  'default recipe': (cx, cy, c) => `<circle cx="${cx}" cy="${cy}" r="5" fill="${c}"/>`,
};
const parts: string[] = [];
for (let f = 1; f <= speedMax; f *= 2) parts.push(`<line x1="${x(f)}" x2="${x(f)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#eee"/><text x="${x(f)}" y="${H - m.bottom + 16}" text-anchor="middle">${f}x</text>`);
for (let q = qMin; q <= qMax; q += 2) {
  const yy = m.top + (1 - (q - qMin) / (qMax - qMin)) * (H - m.top - m.bottom);
  parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${yy}" y2="${yy}" stroke="#eee"/><text x="${m.left - 6}" y="${yy + 4}" text-anchor="end">${q}</text>`);
}
for (const task of Object.keys(colours)) {
  const main = rows.filter((r) => r.task === task && (r.variant === 'default recipe' || r.variant === 'base (shipped)')).sort((a, b) => a.speedup - b.speedup);
  if (main.length > 1) parts.push(`<polyline points="${main.map((r) => `${x(r.speedup)},${y(r)}`).join(' ')}" fill="none" stroke="${colours[task]}" stroke-opacity="0.5"/>`);
}
for (const r of rows) parts.push((markers[r.variant] ?? markers['default recipe'])(x(r.speedup), y(r), colours[r.task] ?? '#555'));
const legend = [
  ...Object.entries(colours).map(([t, c], i) => `<rect x="${W - m.right + 16}" y="${m.top + i * 18}" width="12" height="12" fill="${c}"/><text x="${W - m.right + 34}" y="${m.top + 10 + i * 18}">${t}</text>`),
  ...Object.entries(markers).map(([v, draw], i) => `${draw(W - m.right + 22, m.top + 80 + i * 20, '#555')}<text x="${W - m.right + 34}" y="${m.top + 84 + i * 20}">${v}</text>`),
];
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${m.left}" y="20" font-size="13">Speed vs quality at ${size}x${size}, ${benches[0].backend}</text>
${parts.join('\n')}
${legend.join('\n')}
<text x="${(m.left + W - m.right) / 2}" y="${H - 24}" text-anchor="middle">speed-up against the base, measured side by side (log scale); base models drawn at the top edge</text>
<text x="16" y="${(m.top + H - m.bottom) / 2}" transform="rotate(-90 16 ${(m.top + H - m.bottom) / 2})" text-anchor="middle">PSNR vs base (dB)</text>
<text x="${W - 8}" y="${H - 4}" text-anchor="end" font-size="9" fill="#777">${dates.join(', ')}; ${[...new Set(benches.map((b) => b.machine))].join('; ')}</text>
</svg>
`;
for (const out of [path.join('bench', 'results', 'pareto.svg'), path.join('public', 'results', 'pareto.svg')]) {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, svg);
  console.log(`wrote ${out}`);
}
