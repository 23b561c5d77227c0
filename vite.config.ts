import { defineConfig, minify, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { serviceWorker } from './src/pwa/build.ts';

// Cross-origin isolation lets the tfjs wasm backend use threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * tfjs-wasm starts its threads from the source text of its emscripten factory
 * (`Function.toString()` into a Blob), so that code must reach the browser as shipped: it goes to
 * a chunk of its own that is left as it is, and every other chunk is minified.
 */
const WASM_GLUE = /tfjs-backend-wasm[\\/]wasm-out[\\/]/;
const glueApart = { codeSplitting: { groups: [{ name: 'tfjs-wasm-glue', test: WASM_GLUE }] } };

function minifyAllButWasmGlue(): Plugin {
  return {
    name: 'alap-minify-all-but-wasm-glue',
    apply: 'build',
    async renderChunk(code, chunk) {
      if (chunk.moduleIds.some((id) => WASM_GLUE.test(id))) return null;
      const { code: minified, errors } = await minify(chunk.fileName, code, { compress: true, mangle: true });
      if (errors.length) this.error(`Minifying ${chunk.fileName}: ${errors.map((e) => e.message).join('; ')}`);
      return { code: minified, map: null };
    },
  };
}

export default defineConfig({
  plugins: [svelte(), serviceWorker(), minifyAllButWasmGlue()],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es', plugins: () => [minifyAllButWasmGlue()], rolldownOptions: { output: glueApart } },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, minify: false, rolldownOptions: { output: glueApart } },
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
});
