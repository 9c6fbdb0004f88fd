import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Vitest's default is one worker fewer than the CPUs: one worker on CI's 2 cores.
    // Much of the suite waits on child processes (gcc, g++, chromium, the CLI), so two
    // workers keep both cores busy; the per-test timeouts allow for the sharing.
    maxWorkers: 2,
  },
});
