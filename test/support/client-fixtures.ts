import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { TestContext } from "vitest";

import { loadConfig } from "../../src/config/config.js";
import { DomainError } from "../../src/domain/errors.js";
import { jsonLineLogger } from "../../src/log/logger.js";
import { startService, type RunningService } from "../../src/service/start-service.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";

/** REPO_ROOT is the worktree the tests run from, found from this file (src or dist). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** LogLine is one parsed line of the service's JSON log. */
export type LogLine = Record<string, unknown> & { event: string; level: string };

/** TestService is a service started in this process, with its captured log. */
export interface TestService {
  service: RunningService;
  /** The development token: subject _ucloud, role SERVICE. */
  token: string;
  logs: LogLine[];
  /** e.g. 127.0.0.1:41234, the way grpcurl and grpc_health_probe take it. */
  address: string;
  close(): Promise<void>;
}

/**
 * startTestService starts the real service on 127.0.0.1 and a free port,
 * with the embedded store and generated keys, plus any extra variables.
 */
export async function startTestService(
  env: Record<string, string> = {},
  options: { store?: ProviderStore } = {},
): Promise<TestService> {
  const logs: LogLine[] = [];
  const logger = jsonLineLogger("debug", (line) => logs.push(JSON.parse(line) as LogLine));
  const config = loadConfig({
    PROVIDER_AUTH_HOST: "127.0.0.1",
    PROVIDER_AUTH_KEY_POOL_SIZE: "2",
    ...env,
    PROVIDER_AUTH_PORT: "0",
  });
  const service = await startService(config, { logger, store: options.store });
  return {
    service,
    token: service.developmentToken!,
    logs,
    address: `127.0.0.1:${service.port}`,
    close: () => service.close(),
  };
}

/**
 * SwitchableStore is the memory store with a fault switch at the store
 * boundary: while `down` is set, ping fails the way an unreachable database
 * makes it fail.
 */
export class SwitchableStore extends MemoryStore {
  down = false;

  override async ping(): Promise<void> {
    if (this.down) {
      throw new DomainError("unavailable", "the store cannot be reached", {
        reason: "store_down_in_test",
      });
    }
  }
}

/**
 * peerBinary returns the path of a peer tool installed under .cache/peers/bin,
 * or skips the test with a printed reason when it is missing.
 */
export function peerBinary(context: TestContext, name: string): string {
  const path = join(REPO_ROOT, ".cache", "peers", "bin", name);
  if (!existsSync(path)) {
    const reason = `${name} is not installed at ${path}: install the test peers first`;
    process.stderr.write(`SKIPPED: ${reason}\n`);
    context.skip(reason);
  }
  return path;
}

/** PeerRun is how a peer tool ended and what it printed. */
export interface PeerRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** runPeer runs a tool to its end (or kills it after `timeoutMs`) and collects its output. */
export function runPeer(
  path: string,
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<PeerRun> {
  return new Promise((resolve) => {
    execFile(path, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** callLines returns the call log lines of one RPC. */
export function callLines(logs: readonly LogLine[], rpc: string): LogLine[] {
  return logs.filter((line) => line.event === "call" && line.rpc === rpc);
}

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}
