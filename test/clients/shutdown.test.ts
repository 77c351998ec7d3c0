import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, test } from "vitest";

import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { REPO_ROOT, type LogLine } from "../support/client-fixtures.js";

const MAIN = join(REPO_ROOT, "dist", "src", "main.js");

interface Spawned {
  child: ChildProcess;
  url: string;
  token: string;
  logs: LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

// The test runs the built entry point, as production does: refuse a stale build.
function checkBuild(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const built = statSync(MAIN).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
        const path = join(dir, entry.name);
        return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
      }),
    );
  if (newest(join(REPO_ROOT, "src")) > built) {
    throw new Error(`${MAIN} is older than src/: run npm run build first`);
  }
}

async function spawnService(env: Record<string, string>): Promise<Spawned> {
  checkBuild();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      PROVIDER_AUTH_HOST: "127.0.0.1",
      PROVIDER_AUTH_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);

  const logs: LogLine[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (text) => {
      const line = JSON.parse(text) as LogLine;
      logs.push(line);
      if (line.event === "listening") resolve(String(line.url));
    });
    void exited.then(() => reject(new Error("the service exited before it listened")));
  });
  const token = new Promise<string>((resolve) => {
    createInterface({ input: child.stderr! }).on("line", (text) => {
      const match = /export TOKEN=(\S+)/.exec(text);
      if (match !== null) resolve(match[1]!);
    });
  });
  return { child, url: await listening, token: await token, logs, exited };
}

function registerMany(
  client: ReturnType<typeof createClient<typeof AuthProvidersService>>,
  prefix: string,
  token: string,
) {
  const items = Array.from({ length: 20 }, (_, i) => ({ id: `${prefix}-${i}` }));
  return client.register({ items }, { headers: { authorization: `Bearer ${token}` } });
}

describe("SIGTERM", { timeout: 90_000 }, () => {
  test("calls in flight finish, HTTP/2 clients get GOAWAY, the process exits 0", async () => {
    const graceMs = 30_000;
    const service = await spawnService({
      PROVIDER_AUTH_KEY_POOL_SIZE: "0",
      PROVIDER_AUTH_SHUTDOWN_GRACE_MS: String(graceMs),
    });

    const grpc = createClient(AuthProvidersService, createGrpcTransport({ baseUrl: service.url }));
    const connect = createClient(
      AuthProvidersService,
      createConnectTransport({ baseUrl: service.url, httpVersion: "1.1" }),
    );
    const health = createClient(Health, createGrpcTransport({ baseUrl: service.url }));

    // A session of our own, to see the GOAWAY.
    const session = http2.connect(service.url);
    const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
    session.on("error", () => undefined);

    const watched: Status[] = [];
    const watch = (async () => {
      for await (const answer of health.watch({ service: "" })) watched.push(answer.status);
    })();

    // Each registration generates 20 RSA keys on the spot: seconds of work.
    const overGrpc = registerMany(grpc, "grpc", service.token);
    const overConnect = registerMany(connect, "connect", service.token);
    await expect.poll(() => watched.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = Date.now();
    service.child.kill("SIGTERM");

    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    const [viaGrpc, viaConnect] = await Promise.all([overGrpc, overConnect]);
    expect(viaGrpc.responses).toHaveLength(20);
    expect(viaConnect.responses).toHaveLength(20);

    // The Watch stream ends at shutdown instead of holding the drain open.
    await watch;
    expect(watched.at(-1)).toBe(Status.NOT_SERVING);

    const exit = await service.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalled).toBeLessThan(graceMs);
    session.destroy();

    const events = service.logs.map((l) => l.event);
    expect(events).toContain("stopping");
    expect(events.at(-1)).toBe("stopped");
    // Both calls were still running when the signal came.
    const stopping = events.indexOf("stopping");
    const registers = service.logs
      .map((line, index) => ({ line, index }))
      .filter(({ line }) => line.event === "call" && line.rpc === "Register");
    expect(registers.map(({ line }) => line.outcome)).toEqual(["ok", "ok"]);
    for (const { index } of registers) expect(index).toBeGreaterThan(stopping);
  });

  test("after the grace period, what is left is cut and the process still exits 0", async () => {
    const graceMs = 500;
    const service = await spawnService({
      PROVIDER_AUTH_KEY_POOL_SIZE: "0",
      PROVIDER_AUTH_SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const grpc = createClient(AuthProvidersService, createGrpcTransport({ baseUrl: service.url }));
    const slow = registerMany(grpc, "cut", service.token).then(
      () => "ok" as const,
      (error: unknown) => ConnectError.from(error).code,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = Date.now();
    service.child.kill("SIGTERM");
    const exit = await service.exited;

    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalled).toBeLessThan(graceMs + 5_000);
    expect([Code.Unavailable, Code.Canceled, Code.Internal, Code.Unknown]).toContain(await slow);
  });
});
