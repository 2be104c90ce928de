// Builds the web console into dist/console (npm run build:console, run by npm ci through prepare):
// hashed file names under assets/, so the server can cache them forever, and index.html, which the
// server fills with a per-response CSP nonce (src/http/console/serve-console.ts).
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  // EUI's optimized build: the same components without their propTypes and development-only checks,
  // which a production bundle never uses (about a third of EUI's code); EUI documents this alias.
  resolve: {
    alias: [
      { find: /^@elastic\/eui$/, replacement: '@elastic/eui/optimize/es' },
      { find: /^@elastic\/eui\/es\//, replacement: '@elastic/eui/optimize/es/' },
    ],
  },
  // The dev server proxies the API to a running extrepo (npm start), so `npx vite console` works too.
  server: { proxy: { '/api': 'http://127.0.0.1:12400' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // EUI's icons are one module each, loaded on first use: keep them out of the first page's code.
    chunkSizeWarningLimit: 2048,
    // No inline <script>: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
