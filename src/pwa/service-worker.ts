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
/** Header under which each cached response keeps the revision it was cached for. */
const REVISION = 'X-Alap-Revision';

/** One file into `cache`: from an earlier version's cache when its revision matches, else from the network. */
async function precache(cache: Cache, earlier: Cache[], file: { url: string; revision: string }): Promise<void> {
  const url = new URL(file.url, sw.registration.scope).href;
  if ((await cache.match(url))?.headers.get(REVISION) === file.revision) return; // an earlier, interrupted install
  for (const old of earlier) {
    const response = await old.match(url);
    if (response?.headers.get(REVISION) === file.revision) return cache.put(url, response);
  }
  const response = await fetch(new Request(url, { cache: 'reload' }));
  if (!response.ok) throw new Error(`Precaching ${file.url}: HTTP ${response.status}`);
  const headers = new Headers(response.headers);
  headers.set(REVISION, file.revision);
  await cache.put(url, new Response(response.body, { status: response.status, statusText: response.statusText, headers }));
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const earlier = await Promise.all((await caches.keys()).filter((k) => k.startsWith('alap-') && k !== CACHE).map((k) => caches.open(k)));
      const cache = await caches.open(CACHE);
      try {
        await Promise.all(PRECACHE.files.map((f) => precache(cache, earlier, f)));
      } catch (e) {
        // A half-filled cache must not be mistaken for this version's: the install fails whole.
        await caches.delete(CACHE);
        throw e;
      }
    })(),
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
