import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["test/**/*.test.ts"],
    // Installs the peers the suites talk to (FerretDB, grpcurl, ...) when missing.
    globalSetup: ["test/peers/global-setup.ts"],
    // Suites start real servers and generate RSA keys; forks keep each
    // suite's child processes and event loop apart from the others.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
