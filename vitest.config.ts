import { defineConfig } from 'vitest/config';

// One project per package (each package's vitest.config.ts sets its own time-outs: projects do
// not inherit the root's). Every test starts real servers on ephemeral loopback ports.
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
