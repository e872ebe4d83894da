// Bundles the Electron preload into one CommonJS file: a sandboxed preload cannot require our
// other modules, so the contract's channel list is bundled in. Only `electron` stays external.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist/preload',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    lib: {
      entry: 'src-main/preload.ts',
      formats: ['cjs'],
      fileName: () => 'preload.js',
    },
    rollupOptions: { external: ['electron'] },
  },
});
