import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

// Playwright cannot download its browsers here: use the system Chromium (Debian's `chromium`).
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const executablePath = existsSync(chromium) ? chromium : undefined;

const quietArgs = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

// The preview server's port; E2E_PORT lets two runs share a machine.
const PORT = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 120_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: { executablePath, args: quietArgs },
  },
  projects: [
    { name: 'wasm', use: { launchOptions: { executablePath, args: quietArgs } } },
    {
      // WebGPU on the CPU through SwiftShader: proves the WebGPU path, far too slow to time.
      name: 'webgpu',
      use: { launchOptions: { executablePath, args: [...quietArgs, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] } },
    },
  ],
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort --host 127.0.0.1`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
