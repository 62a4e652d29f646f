import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Builds the dashboard into dist/dashboard/ui, served by hookd under /dashboard (src/dashboard/routes.ts), and
 * beside it the app portal (portal.html, served under /portal): two pages sharing components and one assets/ folder.
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
    rollupOptions: {
      input: { index: fileURLToPath(new URL('index.html', import.meta.url)), portal: fileURLToPath(new URL('portal.html', import.meta.url)) },
      output: { chunkFileNames: 'assets/shared-[hash].js' },
    },
    target: 'es2022',
    // One script per page plus the code both share, one stylesheet; never inline assets as data: URLs into scripts.
    assetsInlineLimit: 0,
    modulePreload: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
