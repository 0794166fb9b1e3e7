// Builds the dashboard into ui/dist, which the service serves under /ui/ (src/api/routes/ui).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One small bundle; no source maps shipped to users.
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
});
