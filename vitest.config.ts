import { defineConfig } from 'vitest/config';

// One project per package; every test starts real servers on ephemeral loopback ports.
export default defineConfig({
  test: {
    projects: ['packages/*'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
