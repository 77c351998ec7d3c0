import * as http from "node:http";
import * as http2 from "node:http2";

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { callLines, startTestService, type TestService } from "../support/client-fixtures.js";

let running: TestService;

beforeAll(async () => {
  // No key pool: every registration pays for its own key, which makes calls slow on purpose.
  running = await startTestService({ PROVIDER_AUTH_KEY_POOL_SIZE: "0" });
});
afterAll(async () => {
  await running?.close();
});

const authorization = () => ({ authorization: `Bearer ${running.token}` });
const ONE_MIB_TOKEN = "a".repeat(1024 * 1024);

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("message size", { timeout: 60_000 }, () => {
  test("a 1 MiB request is refused with RESOURCE_EXHAUSTED before any call is made", async () => {
    const before = running.logs.length;
    const transports = [
      createGrpcTransport({ baseUrl: running.service.url }),
      createConnectTransport({ baseUrl: running.service.url, httpVersion: "1.1" }),
    ];
    for (const transport of transports) {
      const client = createClient(AuthProvidersService, transport);
      const code = await codeOf(client.refresh({ items: [{ refreshToken: ONE_MIB_TOKEN }] }));
      expect(code).toBe(Code.ResourceExhausted);
    }
    expect(callLines(running.logs.slice(before), "Refresh")).toEqual([]);
  });
});

describe("connection limits", { timeout: 60_000 }, () => {
  test("HTTP/2 advertises its stream and header-list limits", async () => {
    const session = http2.connect(running.service.url);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      expect(settings.maxConcurrentStreams).toBe(100);
      expect(settings.maxHeaderListSize).toBe(16 * 1024);
    } finally {
      session.close();
    }
  });

  test("HTTP/1.1 refuses headers above 16 KiB", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        `${running.service.url}/auth/providers/refresh`,
        { method: "POST", headers: { "x-padding": "p".repeat(20 * 1024) } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.end("{}");
    });
    expect(status).toBe(431);
  });
});

// Last: the call it abandons keeps the key generator busy for a while.
describe("deadlines", { timeout: 60_000 }, () => {
  test("the call stops when the client's deadline passes", async () => {
    const client = createClient(
      AuthProvidersService,
      createGrpcTransport({ baseUrl: running.service.url }),
    );
    const items = Array.from({ length: 20 }, (_, i) => ({ id: `deadline-${i}` }));
    const started = Date.now();
    const code = await codeOf(
      client.register({ items }, { headers: authorization(), timeoutMs: 300 }),
    );
    expect(code).toBe(Code.DeadlineExceeded);

    // The server gave up at the deadline too, not when the keys were ready.
    await expect.poll(() => callLines(running.logs, "Register").length).toBeGreaterThan(0);
    const line = callLines(running.logs, "Register").at(-1)!;
    expect(line.outcome).toBe("deadline_exceeded");
    expect(line.duration_ms).toBeLessThan(1_500);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test("a deadline above the server's cap is refused", async () => {
    const client = createClient(
      AuthProvidersService,
      createGrpcTransport({ baseUrl: running.service.url }),
    );
    const code = await codeOf(
      client.retrievePublicKey({ id: "x" }, { headers: authorization(), timeoutMs: 600_000 }),
    );
    expect(code).toBe(Code.InvalidArgument);
  });
});
