import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The console is served under /console/ by the same origin as the API (local server, CloudFront in AWS). */
export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The bench and the server read which chunks each page loads first from here.
    manifest: true,
    // Hashed file names are served as immutable; a source map would be a second copy of the code in the bucket.
    sourcemap: false,
    target: 'es2022',
  },
  server: { strictPort: true },
});
