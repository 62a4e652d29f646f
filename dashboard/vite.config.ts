import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Builds the dashboard into dist/dashboard/ui, served by hookd under /dashboard (src/dashboard/routes.ts).
 * Everything is bundled: no CDN, no external fonts, no inline scripts (the page CSP allows same-origin scripts only).
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/dashboard/',
  publicDir: 'public',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard/ui/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Keep the bundle one script and one stylesheet, and never inline assets as data: URLs into scripts.
    assetsInlineLimit: 0,
    modulePreload: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
