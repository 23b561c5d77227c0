/**
 * Page side of the service worker (production builds only). Reports when the app is ready to
 * work offline and when an update is waiting; applying it is the user's choice.
 */
export interface PwaStatus {
  /** Everything is cached: the app works offline from now on. */
  offlineReady: boolean;
  /** A new version is installed and waits for `applyUpdate`. */
  updateWaiting: boolean;
}

export async function registerServiceWorker(onChange: (s: PwaStatus) => void): Promise<void> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const status: PwaStatus = { offlineReady: false, updateWaiting: false };
  const registration = await navigator.serviceWorker.register('./sw.js');
  const report = () => onChange({ ...status });
  const track = (worker: ServiceWorker | null) => {
    if (!worker) return;
    const check = () => {
      if (worker.state === 'activated' && !status.offlineReady) {
        status.offlineReady = true;
        report();
      }
      if (worker.state === 'installed' && navigator.serviceWorker.controller) {
        status.updateWaiting = true;
        report();
      }
    };
    worker.addEventListener('statechange', check);
    check();
  };
  track(registration.active);
  track(registration.waiting);
  track(registration.installing);
  registration.addEventListener('updatefound', () => track(registration.installing));
  // On a host that cannot send COOP/COEP, the worker adds them: one reload makes the page
  // cross-origin isolated (wasm threads). Once per session, so a failure cannot loop.
  if (!crossOriginIsolated && !sessionStorage.getItem('alap-isolation-reload')) {
    const reload = () => {
      sessionStorage.setItem('alap-isolation-reload', '1');
      location.reload();
    };
    await navigator.serviceWorker.ready;
    // On a first visit the worker takes control (clients.claim) a moment after it is ready.
    if (navigator.serviceWorker.controller) reload();
    else navigator.serviceWorker.addEventListener('controllerchange', reload, { once: true });
  }
}

/** Lets the waiting version take over and reloads (runs resume from their checkpoints). */
export function applyUpdate(): void {
  navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
  void navigator.serviceWorker.getRegistration().then((r) => r?.waiting?.postMessage('skip-waiting'));
}
