/**
 * Import boundaries (npm run check): the page never loads TensorFlow.js (the workers do), and
 * src/core stays pure (no UI, storage or workers), as DESIGN.md says.
 */
module.exports = {
  forbidden: [
    {
      name: 'page-without-tfjs',
      comment: 'The page bundle must not reach tfjs or onnxruntime, directly or through any module it imports: heavy work runs in the workers.',
      severity: 'error',
      from: { path: '^src/(main\\.ts|ui/|pwa/register)' },
      to: { path: '(^|/)node_modules/(@tensorflow|onnxruntime-web)/', reachable: true },
    },
    {
      name: 'app-layer-writes',
      comment: 'The page reads IndexedDB; only the app layer (src/app, run by the workers or, without tfjs, by the page) writes it through the store modules.',
      severity: 'error',
      from: { path: '^src/(main\\.ts|ui/|pwa/)' },
      to: { path: '^src/store/(records|checkpoints)\\.ts$' },
    },
    {
      name: 'core-is-pure',
      comment: 'src/core runs in workers and in Node: it never imports the UI, the app layer, the store, the workers or the CLI.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/(ui|app|store|cli|pwa|workers)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports vanish from the bundle: only what is really loaded counts.
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.svelte', '.json'] },
  },
};
