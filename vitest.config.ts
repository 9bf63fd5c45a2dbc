import { defineConfig } from 'vitest/config';

// One vitest run over every package; each package is a project so `vitest --project @octet/core` works.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
