import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'lab', include: ['test/**/*.test.ts'], testTimeout: 40_000, hookTimeout: 30_000 },
});
