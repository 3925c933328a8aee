import { defineConfig } from 'vitest/config';

// The reliability suite (`pnpm test:reliability`): randomized fault workloads, SIGKILL crash
// safety and fuzzing. Slower than the unit tests, so kept out of `pnpm test`, but bounded to a
// few minutes on a 2-core machine. Sources are imported as in the main suite.
export default defineConfig({
  resolve: { conditions: ['@l402kit/source'] },
  ssr: { resolve: { conditions: ['@l402kit/source'] } },
  test: {
    include: ['test/reliability/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // The crash test spawns child processes; two files at a time keep a 2-core machine usable.
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
