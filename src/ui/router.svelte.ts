/**
 * The studio's pages, one per address hash (`#/live`, `#/runs`, …), so each task has its own
 * screen and the browser's back button and bookmarks work on a static host without server routes.
 */
export const PAGES = ['home', 'compress', 'runs', 'models', 'live', 'benchmark', 'storage', 'device'] as const;
export type Page = (typeof PAGES)[number];

export const PAGE_TITLES: Record<Page, string> = {
  home: 'Home',
  compress: 'Compress',
  runs: 'Runs',
  models: 'Models',
  live: 'Live',
  benchmark: 'Benchmark',
  storage: 'Storage',
  device: 'Device',
};

/** The page a hash names (`#/runs` → runs); anything else is Home. */
export function pageOf(hash: string): Page {
  const name = hash.replace(/^#\/?/, '').split('/')[0];
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : 'home';
}

export const route = $state<{ page: Page }>({ page: pageOf(location.hash) });

addEventListener('hashchange', () => {
  route.page = pageOf(location.hash);
  scrollTo(0, 0);
});

/** Shows `page` (and records it in the history, so Back returns). */
export function openPage(page: Page): void {
  location.hash = `#/${page}`;
}
