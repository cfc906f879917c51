import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w web` serves the console with hot reload and forwards the API to a
// Tessera server on :8080 (`npm start` in another terminal).
export default defineConfig({
  plugins: [react()],
  // One bundle (~700 kB, ~210 kB gzipped, most of it react-aria-components), cached by its hashed name.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/docs': 'http://127.0.0.1:8080',
      '/openapi.json': 'http://127.0.0.1:8080',
    },
  },
});
