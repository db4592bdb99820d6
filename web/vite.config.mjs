// The dashboard: Preact, built to dist/dashboard and served by the scheduler at / (assets under /assets/).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)), emptyOutDir: true, assetsDir: 'assets', sourcemap: false },
  logLevel: 'warn',
});
