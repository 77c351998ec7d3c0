import { setTimeout as sleep } from "node:timers/promises";

import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  peerBinary,
  runPeer,
  startTestService,
  SwitchableStore,
  type TestService,
} from "../support/client-fixtures.js";

const SERVICE = "ucloud.auth.v1.AuthProvidersService";
// Longer than the service caches one ping's answer.
const PING_CACHE_PASSES_MS = 1_200;

let store: SwitchableStore;
let running: TestService;

beforeAll(async () => {
  store = new SwitchableStore();
  running = await startTestService({}, { store });
});
afterAll(async () => {
  await running?.close();
});

describe("grpc_health_probe", { timeout: 60_000 }, () => {
  test("the server and the API service are SERVING, with no token", async (context) => {
    const probe = peerBinary(context, "grpc-health-probe");

    const server = await runPeer(probe, ["-addr", running.address]);
    expect(server.code).toBe(0);
    expect(server.stdout + server.stderr).toContain("status: SERVING");

    const api = await runPeer(probe, ["-addr", running.address, "-service", SERVICE]);
    expect(api.code).toBe(0);
    expect(api.stdout + api.stderr).toContain("status: SERVING");
  });

  test("an unknown service name fails the probe with NotFound", async (context) => {
    const probe = peerBinary(context, "grpc-health-probe");
    const run = await runPeer(probe, ["-addr", running.address, "-service", "no.Such"]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain("NotFound");
  });

  test("NOT_SERVING while the store cannot be reached, SERVING again after", async (context) => {
    const probe = peerBinary(context, "grpc-health-probe");
    store.down = true;
    try {
      await sleep(PING_CACHE_PASSES_MS);
      for (const args of [[], ["-service", SERVICE]]) {
        const run = await runPeer(probe, ["-addr", running.address, ...args]);
        expect(run.code).not.toBe(0);
        expect(run.stdout + run.stderr).toContain("NOT_SERVING");
      }
      expect(
        running.logs.some((l) => l.event === "health_changed" && l.state === "not_serving"),
      ).toBe(true);
    } finally {
      store.down = false;
    }

    await sleep(PING_CACHE_PASSES_MS);
    const run = await runPeer(probe, ["-addr", running.address]);
    expect(run.code).toBe(0);
  });
});

describe("Health.Watch", { timeout: 60_000 }, () => {
  test("sends the status at once and again on each change", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: running.service.url }));
    const abort = new AbortController();
    const seen: Status[] = [];

    try {
      for await (const answer of client.watch({ service: SERVICE }, { signal: abort.signal })) {
        seen.push(answer.status);
        if (seen.length === 1) store.down = true;
        if (seen.length === 2) store.down = false;
        if (seen.length === 3) break;
      }
    } finally {
      store.down = false;
      abort.abort();
    }
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  });

  test("an unknown name gets SERVICE_UNKNOWN and the stream stays open", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: running.service.url }));
    const stream = client.watch({ service: "no.Such" }, { timeoutMs: 1_500 });
    const seen: Status[] = [];
    let ended: string | undefined;
    try {
      for await (const answer of stream) seen.push(answer.status);
      ended = "ok";
    } catch (error) {
      ended = String(error);
    }
    expect(seen).toEqual([Status.SERVICE_UNKNOWN]);
    // It only ends because the client's deadline does.
    expect(ended).toMatch(/deadline_exceeded/);
  });
});
