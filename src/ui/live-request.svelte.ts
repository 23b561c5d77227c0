/** A hand-over to the Live section (e.g. from the Cartoon me flow): which models to show, and how. */
export const liveRequest = $state<{ value: { original: string; compressed: string; mode: 'split' } | null }>({ value: null });
