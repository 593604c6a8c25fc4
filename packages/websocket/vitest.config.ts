import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'websocket', include: ['test/**/*.test.ts'] } });
