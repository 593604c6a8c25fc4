import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'streamable-http', include: ['test/**/*.test.ts'] } });
