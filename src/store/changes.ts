/**
 * Change notices between the studio's writers (workers, the page) and its views: a write to a
 * store posts the store's name on a BroadcastChannel, and every open view of this origin (pages,
 * other tabs) refreshes what it shows, instead of polling or waiting for a click.
 */
export type StoreName = 'datasets' | 'models' | 'runs' | 'benchmarks';

const CHANNEL = 'alap-studio-changes';
let sender: BroadcastChannel | null = null;

/** Says `store` changed (BroadcastChannel delivers to every other channel object of the origin). */
export function announceChange(store: StoreName): void {
  if (typeof BroadcastChannel === 'undefined') return; // Node (tests, CLI) has no views to tell
  sender ??= new BroadcastChannel(CHANNEL);
  sender.postMessage(store);
}

/** Calls `f` with each changed store's name until the returned function is called. */
export function onStoreChange(f: (store: StoreName) => void): () => void {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e: MessageEvent<StoreName>) => f(e.data);
  return () => channel.close();
}
