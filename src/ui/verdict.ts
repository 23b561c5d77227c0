import type { RunReport } from '../core/compress/pipeline';

/**
 * A plain-words reading of a finished compression: how close the student stays to its original
 * (PSNR against the original's outputs on held-out images) and what to try when it is not close.
 * Thresholds: from about 30 dB differences are hard to see side by side; under 25 dB they are plain.
 */
export function verdictOf(report: Pick<RunReport, 'studentVsOriginal' | 'macs' | 'latency' | 'distillSteps'>): { level: 'good' | 'fair' | 'poor'; text: string } {
  const dB = report.studentVsOriginal.psnr;
  const speed = `${report.macs.ratio.toFixed(1)}x fewer MACs, ${report.latency.speedup.toFixed(2)}x faster here`;
  const fewSteps = report.distillSteps < 1000 ? ` Only ${report.distillSteps} distillation steps ran: a time budget of a few minutes (or more steps) usually gains several dB.` : '';
  if (dB >= 30) return { level: 'good', text: `Close to the original (${dB.toFixed(1)} dB): hard to tell apart side by side, at ${speed}.` };
  if (dB >= 25) return { level: 'fair', text: `Near the original (${dB.toFixed(1)} dB) with differences you can see side by side, at ${speed}.${fewSteps || ' A smaller compression (a larger budget) keeps more.'}` };
  return { level: 'poor', text: `Far from the original (${dB.toFixed(1)} dB), at ${speed}.${fewSteps || ' Try a larger budget (keep more MACs).'}` };
}
