/**
 * Speed vs quality chart from bench/results/tasks-bench.json: FPS at the bench's resolution
 * (log scale) against PSNR vs the base model, one colour per task, each budget a point. Writes
 * bench/results/pareto.svg (README) and public/results/pareto.svg (the app's Results section).
 *
 *   npx tsx bench/pareto-chart.ts [--in bench/results/tasks-bench.json]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TaskRow } from './tasks-bench';

const { values } = parseArgs({ options: { in: { type: 'string' } } });
const input = values.in ?? path.join('bench', 'results', 'tasks-bench.json');
const bench = JSON.parse(readFileSync(input, 'utf8')) as { date: string; machine: string; backend: string; config: { latencySize: number }; rows: TaskRow[] };

const W = 720;
const H = 440;
const m = { left: 60, right: 200, top: 40, bottom: 50 };
const rows = bench.rows.filter((r) => r.fps > 0);
const fpsMin = Math.min(...rows.map((r) => r.fps)) / 1.3;
const fpsMax = Math.max(...rows.map((r) => r.fps)) * 1.3;
const withQuality = rows.filter((r) => r.vsBase);
const qMin = Math.floor(Math.min(...withQuality.map((r) => r.vsBase!.psnr)) - 1);
const qMax = Math.ceil(Math.max(...withQuality.map((r) => r.vsBase!.psnr)) + 1);
const x = (fps: number) => m.left + ((Math.log(fps) - Math.log(fpsMin)) / (Math.log(fpsMax) - Math.log(fpsMin))) * (W - m.left - m.right);
// The base has no PSNR against itself: it is drawn at the top edge.
const y = (r: TaskRow) => m.top + (1 - ((r.vsBase?.psnr ?? qMax) - qMin) / (qMax - qMin)) * (H - m.top - m.bottom);
const colours: Record<string, string> = { 'mask-to-face': '#1d3557', 'face-to-cartoon': '#e76f51', unpaired: '#2a9d8f' };
const markers: Record<string, (cx: number, cy: number, c: string) => string> = {
  'base (shipped)': (cx, cy, c) => `<rect x="${cx - 5}" y="${cy - 5}" width="10" height="10" fill="none" stroke="${c}" stroke-width="2"/>`,
  'default recipe': (cx, cy, c) => `<circle cx="${cx}" cy="${cy}" r="5" fill="${c}"/>`,
};
const parts: string[] = [];
for (let f = 1; f <= fpsMax; f *= 2) if (f >= fpsMin) parts.push(`<line x1="${x(f)}" x2="${x(f)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#eee"/><text x="${x(f)}" y="${H - m.bottom + 16}" text-anchor="middle">${f}</text>`);
for (let q = qMin; q <= qMax; q += 2) {
  const yy = m.top + (1 - (q - qMin) / (qMax - qMin)) * (H - m.top - m.bottom);
  parts.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${yy}" y2="${yy}" stroke="#eee"/><text x="${m.left - 6}" y="${yy + 4}" text-anchor="end">${q}</text>`);
}
if (30 > fpsMin && 30 < fpsMax) parts.push(`<line x1="${x(30)}" x2="${x(30)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#2a9d8f" stroke-dasharray="4 3"/><text x="${x(30) + 4}" y="${m.top + 12}">30 FPS</text>`);
for (const task of Object.keys(colours)) {
  const main = rows.filter((r) => r.task === task && (r.variant === 'default recipe' || r.variant === 'base (shipped)')).sort((a, b) => a.fps - b.fps);
  if (main.length > 1) parts.push(`<polyline points="${main.map((r) => `${x(r.fps)},${y(r)}`).join(' ')}" fill="none" stroke="${colours[task]}" stroke-opacity="0.5"/>`);
}
for (const r of rows) parts.push((markers[r.variant] ?? markers['default recipe'])(x(r.fps), y(r), colours[r.task] ?? '#555'));
const legend = [
  ...Object.entries(colours).map(([t, c], i) => `<rect x="${W - m.right + 16}" y="${m.top + i * 18}" width="12" height="12" fill="${c}"/><text x="${W - m.right + 34}" y="${m.top + 10 + i * 18}">${t}</text>`),
  ...Object.entries(markers).map(([v, draw], i) => `${draw(W - m.right + 22, m.top + 80 + i * 20, '#555')}<text x="${W - m.right + 34}" y="${m.top + 84 + i * 20}">${v}</text>`),
];
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${m.left}" y="20" font-size="13">Speed vs quality: FPS at ${bench.config.latencySize}x${bench.config.latencySize} (${bench.backend}) against PSNR vs the base</text>
${parts.join('\n')}
${legend.join('\n')}
<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">frames per second (log scale); base models drawn at the top edge</text>
<text x="16" y="${(m.top + H - m.bottom) / 2}" transform="rotate(-90 16 ${(m.top + H - m.bottom) / 2})" text-anchor="middle">PSNR vs base (dB)</text>
<text x="${W - 8}" y="${H - 4}" text-anchor="end" font-size="9" fill="#777">${bench.date.slice(0, 10)}, ${bench.machine}</text>
</svg>
`;
for (const out of [path.join('bench', 'results', 'pareto.svg'), path.join('public', 'results', 'pareto.svg')]) {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, svg);
  console.log(`wrote ${out}`);
}
