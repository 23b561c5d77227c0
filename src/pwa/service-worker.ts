/**
 * The studio's service worker: it makes the app work offline and cross-origin isolated anywhere.
 * - install: precaches every file of the build (app shell, JS and worker bundles, the tfjs wasm
 *   binaries, the shipped base models), listed at build time with a revision (content hash) each
 *   into PRECACHE (src/pwa/build.ts); a file whose revision is already in an earlier version's
 *   cache is copied from there, so an update downloads only what changed;
 * - fetch: same-origin GETs are answered from that cache first, so the app and a run work
 *   offline; responses get COOP/COEP/CORP headers, so the page is cross-origin isolated (wasm
 *   threads) even on static hosts that cannot set headers;
 * - updates wait: a new version installs next to the running one and takes over only when the page
 *   asks (the user chose to reload), never in the middle of a run.
 */
/** Replaced at build time: { version, files } (paths relative to the scope). */
declare const PRECACHE: { version: string; files: { url: string; revision: string }[] };

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `alap-${PRECACHE.version}`;
/** A cache entry (not a file of the build) holding the revision of each file the cache holds. */
const REVISIONS = new URL('./__precache-revisions.json', sw.registration.scope).href;
const urlOf = (file: { url: string }) => new URL(file.url, sw.registration.scope).href;

/** The earlier versions' caches, each with the revisions it holds. */
async function earlierCaches(): Promise<{ cache: Cache; revisions: Record<string, string> }[]> {
  const keys = (await caches.keys()).filter((k) => k.startsWith('alap-') && k !== CACHE);
  return Promise.all(
    keys.map(async (k) => {
      const cache = await caches.open(k);
      const revisions = (await (await cache.match(REVISIONS))?.json().catch(() => null)) ?? {};
      return { cache, revisions };
    }),
  );
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const earlier = await earlierCaches();
      // Each file with the earlier cache that holds its revision (none: it changed).
      const files = PRECACHE.files.map((f) => ({ ...f, href: urlOf(f), from: earlier.find((e) => e.revisions[urlOf(f)] === f.revision)?.cache }));
      const cache = await caches.open(CACHE);
      // What changed comes from the network in one addAll, which stores all or nothing (and fails
      // before writing when the quota is short); the rest is copied from the cache that has it.
      await cache.addAll(files.filter((f) => !f.from).map((f) => new Request(f.href, { cache: 'reload' })));
      for (const file of files) {
        if (!file.from) continue;
        const response = await file.from.match(file.href);
        if (!response) throw new Error(`Precaching ${file.url}: missing from the earlier cache`);
        await cache.put(file.href, response);
      }
      await cache.put(REVISIONS, Response.json(Object.fromEntries(files.map((f) => [f.href, f.revision]))));
    })().catch(async (e) => {
      // A half-filled cache must not pass for this version's.
      await caches.delete(CACHE);
      throw e;
    }),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('alap-') && key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') void sw.skipWaiting();
});

function isolated(response: Response): Response {
  if (response.status === 0 || response.type === 'opaque') return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== sw.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Pages (any query string, e.g. ?backend=wasm) are the precached index.html.
      const key = request.mode === 'navigate' ? new URL('./index.html', sw.registration.scope).href : url.origin + url.pathname;
      const cached = await cache.match(key);
      return isolated(cached ?? (await fetch(request)));
    })(),
  );
});
