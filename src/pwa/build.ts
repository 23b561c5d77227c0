/**
 * Vite plugin (build only): compiles src/pwa/service-worker.ts to sw.js at the root of the build
 * and writes into it the list of every file the build produced with a revision of each, and a
 * version that changes whenever any of them does (so browsers see an update); puts the
 * Content-Security-Policy into index.html.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { transformWithOxc, type Plugin, type ResolvedConfig } from 'vite';

async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, root)));
    else out.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}

/**
 * What the built page may do: its own scripts and wasm, workers (tfjs-wasm's threads start from
 * blob: URLs), images and downloads from blob:/data:, the camera, inline styles (Svelte style
 * attributes); no other origin for anything.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' blob: data:",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

export function serviceWorker(source = 'src/pwa/service-worker.ts'): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'alap-service-worker',
    apply: 'build',
    configResolved(resolved) {
      config = resolved;
    },
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }];
    },
    async closeBundle() {
      const outDir = path.resolve(config.root, config.build.outDir);
      // The shipped models' deployment downloads (models/<task>/export/*.zip) are fetched on
      // demand, not kept offline: the app itself never loads them.
      const files = (await listFiles(outDir)).filter((f) => f !== 'sw.js' && !/^models\/[^/]+\/export\//.test(f)).sort();
      // Each file's revision is a hash of its content: an update fetches only the files whose
      // revision changed and copies the rest from the previous version's cache.
      const hash = createHash('sha256');
      const entries: { url: string; revision: string }[] = [];
      for (const f of files) {
        const revision = createHash('sha256').update(await fs.readFile(path.join(outDir, f))).digest('hex').slice(0, 16);
        hash.update(f).update(revision);
        entries.push({ url: f === 'index.html' ? './index.html' : `./${f}`, revision });
      }
      const precache = { version: hash.digest('hex').slice(0, 16), files: entries };
      const ts = await fs.readFile(path.resolve(config.root, source), 'utf8');
      const { code } = await transformWithOxc(ts, source, { lang: 'ts' });
      await fs.writeFile(path.join(outDir, 'sw.js'), `const PRECACHE = ${JSON.stringify(precache)};\n${code}`);
    },
  };
}
