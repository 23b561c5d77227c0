/** Hand-overs between pages (a finished run, the Cartoon me flow): which models the next page shows. */
export const liveRequest = $state<{ value: { original: string; compressed: string; mode: 'split' } | null }>({ value: null });

/** The Benchmark page: a model and its student, measured side by side. */
export const benchmarkRequest = $state<{ value: { original: string; compressed: string } | null }>({ value: null });

/** The Models page: a model and its pruned copy, drawn side by side. */
export const modelsRequest = $state<{ value: { original: string; pruned: string } | null }>({ value: null });
