import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'rest', include: ['test/**/*.test.ts'] } });
