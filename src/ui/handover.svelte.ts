/** Hand-overs between pages (a finished run, the Cartoon me flow): which models the next page shows. */
import { modelChoices, type ModelChoice } from './studio';

/**
 * Takes a hand-over once the page can act on it (`ready`): clears it, reads the model choices
 * again (it may name a model stored since the page last listed them) and gives both to `show`.
 * Called in an $effect, so the page runs it whenever a request arrives or it becomes ready.
 */
export function takeHandover<T>(box: { value: T | null }, ready: boolean, show: (request: T, choices: ModelChoice[]) => void): void {
  const request = box.value;
  if (!request || !ready) return;
  box.value = null;
  void modelChoices().then((choices) => show(request, choices));
}

export const liveRequest = $state<{ value: { original: string; compressed: string; mode: 'split' } | null }>({ value: null });

/** The Benchmark page: a model and its student, measured side by side. */
export const benchmarkRequest = $state<{ value: { original: string; compressed: string } | null }>({ value: null });

/** The Models page: a model and its pruned copy, drawn side by side. */
export const modelsRequest = $state<{ value: { original: string; pruned: string } | null }>({ value: null });
