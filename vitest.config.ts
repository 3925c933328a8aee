import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their sources (the "@l402kit/source" export
// condition), so one copy of each class exists and no build is needed to test.
export default defineConfig({
  resolve: { conditions: ['@l402kit/source'] },
  ssr: { resolve: { conditions: ['@l402kit/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/reliability/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
