// Builds the dashboard (web/) into dist/web/, which the control plane serves at `/`.
// `npm run dev:web` proxies /v1 to a running `turnout up`/`demo` API (TURNOUT_SERVER).

import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/v1': process.env.TURNOUT_SERVER ?? 'http://127.0.0.1:8181' },
  },
});
