import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";

import { create, fromBinary, fromJson, toBinary, type JsonValue } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AuthProvidersService,
  RefreshAsOrchestratorRequestSchema,
  RefreshRequestSchema,
  RefreshResponseSchema,
} from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { loadConfig } from "../../src/config/config.js";
import type { Logger } from "../../src/log/logger.js";
import { startService, type RunningService } from "../../src/service/start-service.js";

const REFRESH = "/ucloud.auth.v1.AuthProvidersService/Refresh";
const ORCHESTRATOR = "/ucloud.auth.v1.AuthProvidersService/RefreshAsOrchestrator";
const silent: Logger = { log: () => {} };

interface Target {
  service: RunningService;
  token: string;
  ids: string[];
  refreshTokens: string[];
}

interface Case {
  name: string;
  path: string;
  headers?: Record<string, string>;
  body: (t: Target) => Buffer;
}

interface Answer {
  status: number | undefined;
  headers: Record<string, unknown>;
  trailers: Record<string, unknown> | undefined;
  flags: number | undefined;
  tokens: unknown[] | undefined;
}

let fast: Target;
let connect: Target;

beforeAll(async () => {
  [fast, connect] = await Promise.all([start(true), start(false)]);
});

// Connect leaves the oversized request of "too large" unread, so its
// service waits out the (shortened) grace period on close.
afterAll(async () => {
  await Promise.all([fast?.service.close(), connect?.service.close()]);
});

async function start(grpcFastPath: boolean): Promise<Target> {
  const config = loadConfig({
    PROVIDER_AUTH_PORT: "0",
    PROVIDER_AUTH_KEY_POOL_SIZE: "0",
    PROVIDER_AUTH_SHUTDOWN_GRACE_MS: "2000",
  });
  const service = await startService(config, { logger: silent, grpcFastPath });
  const token = service.developmentToken!;
  const client = createClient(AuthProvidersService, createGrpcTransport({ baseUrl: service.url }));
  const auth = { headers: { authorization: `Bearer ${token}` } };

  const ids = Array.from({ length: 10 }, (_, i) => `provider-${i}`);
  const registered = await client.register({ items: ids.map((id) => ({ id })) }, auth);
  const claimed = await client.claim({ items: registered.responses }, auth);
  return { service, token, ids, refreshTokens: claimed.responses.map((r) => r.refreshToken) };
}

function envelope(flags: number, message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

const refresh = (tokens: string[]) =>
  toBinary(
    RefreshRequestSchema,
    create(RefreshRequestSchema, { items: tokens.map((refreshToken) => ({ refreshToken })) }),
  );
const one = (t: Target) => envelope(0, refresh([t.refreshTokens[0]!]));

const CASES: Case[] = [
  { name: "one token", path: REFRESH, body: one },
  { name: "gzip accepted", path: REFRESH, headers: { "grpc-accept-encoding": "gzip" }, body: one },
  {
    name: "ten tokens, gzip accepted, answer compressed",
    path: REFRESH,
    headers: { "grpc-accept-encoding": "gzip, br" },
    body: (t) => envelope(0, refresh(t.refreshTokens)),
  },
  {
    name: "gzip request",
    path: REFRESH,
    headers: { "grpc-encoding": "gzip" },
    body: (t) => envelope(1, gzipSync(refresh([t.refreshTokens[1]!]))),
  },
  {
    name: "unknown refresh token",
    path: REFRESH,
    body: () => envelope(0, refresh(["a".repeat(43)])),
  },
  { name: "malformed refresh token", path: REFRESH, body: () => envelope(0, refresh(["short"])) },
  { name: "no items", path: REFRESH, body: () => envelope(0, new Uint8Array(0)) },
  { name: "timeout", path: REFRESH, headers: { "grpc-timeout": "5S" }, body: one },
  { name: "timeout too long", path: REFRESH, headers: { "grpc-timeout": "100M" }, body: one },
  { name: "timeout malformed", path: REFRESH, headers: { "grpc-timeout": "soon" }, body: one },
  { name: "deadline already passed", path: REFRESH, headers: { "grpc-timeout": "0m" }, body: one },
  { name: "with an Origin", path: REFRESH, headers: { origin: "https://example.org" }, body: one },
  { name: "unknown encoding", path: REFRESH, headers: { "grpc-encoding": "zstd" }, body: one },
  {
    name: "compressed without encoding",
    path: REFRESH,
    body: (t) => envelope(1, refresh([t.refreshTokens[0]!])),
  },
  { name: "two messages", path: REFRESH, body: (t) => Buffer.concat([one(t), one(t)]) },
  {
    name: "second message unparsable",
    path: REFRESH,
    body: (t) => Buffer.concat([one(t), envelope(0, Buffer.from([0xff]))]),
  },
  { name: "no message", path: REFRESH, body: () => Buffer.alloc(0) },
  { name: "partial header", path: REFRESH, body: () => Buffer.from([0, 0, 0]) },
  { name: "partial message", path: REFRESH, body: (t) => one(t).subarray(0, 20) },
  {
    name: "message and partial tail",
    path: REFRESH,
    body: (t) => Buffer.concat([one(t), Buffer.from([0, 0])]),
  },
  { name: "unparsable", path: REFRESH, body: () => envelope(0, Buffer.from([0xff, 0xff, 0xff])) },
  {
    name: "other flag bits",
    path: REFRESH,
    body: (t) => envelope(0x80, refresh([t.refreshTokens[0]!])),
  },
  { name: "too large", path: REFRESH, body: () => envelope(0, Buffer.alloc(300 * 1024)) },
  {
    name: "JSON codec",
    path: REFRESH,
    headers: { "content-type": "application/grpc+json" },
    body: (t) =>
      envelope(0, Buffer.from(JSON.stringify({ items: [{ refreshToken: t.refreshTokens[0] }] }))),
  },
  {
    name: "orchestrator without a token",
    path: ORCHESTRATOR,
    body: (t) => envelope(0, orchestrator([t.ids[0]!])),
  },
  {
    name: "orchestrator",
    path: ORCHESTRATOR,
    headers: { authorization: "Bearer {token}" },
    body: (t) => envelope(0, orchestrator(t.ids.slice(0, 3))),
  },
  {
    name: "orchestrator, unknown provider",
    path: ORCHESTRATOR,
    headers: { authorization: "Bearer {token}" },
    body: () => envelope(0, orchestrator(["nobody"])),
  },
];

function orchestrator(ids: string[]): Uint8Array {
  return toBinary(
    RefreshAsOrchestratorRequestSchema,
    create(RefreshAsOrchestratorRequestSchema, {
      items: ids.map((providerId) => ({ providerId })),
    }),
  );
}

// Each case on a connection of its own, so a case that ends a session
// cannot change the next one.
async function call(target: Target, c: Case): Promise<Answer> {
  const session = http2.connect(target.service.url);
  try {
    const headers: Record<string, string> = {
      ":method": "POST",
      ":path": c.path,
      "content-type": "application/grpc",
      te: "trailers",
    };
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      headers[name] = value.replace("{token}", target.token);
    }
    return await new Promise<Answer>((resolve) => {
      const stream = session.request(headers);
      const answer: Answer = {
        status: undefined,
        headers: {},
        trailers: undefined,
        flags: undefined,
        tokens: undefined,
      };
      const data: Buffer[] = [];
      stream.on("response", (h) => {
        const { date: _date, ...rest } = h;
        answer.status = Number(rest[":status"]);
        answer.headers = rest;
      });
      // The answer is complete with its trailers: a server may stop reading
      // an oversized request before the client has sent all of it.
      const finish = () => {
        const body = Buffer.concat(data);
        if (body.length > 0) {
          answer.flags = body[0];
          const json = String(answer.headers["content-type"]).includes("json");
          answer.tokens = body[0] === 0 ? describeTokens(body.subarray(5), json) : undefined;
        }
        resolve(answer);
      };
      stream.on("trailers", (t) => {
        answer.trailers = { ...t };
        finish();
      });
      stream.on("data", (chunk: Buffer) => data.push(chunk));
      stream.on("error", () => {});
      stream.on("close", finish);
      stream.end(c.body(target));
    });
  } finally {
    session.destroy();
  }
}

// Tokens carry a fresh jti, the second they were made in and a key of each
// service's own; what must agree is everything else about them.
function describeTokens(message: Buffer, json: boolean): unknown[] {
  const response = json
    ? fromJson(RefreshResponseSchema, JSON.parse(message.toString("utf8")) as JsonValue)
    : fromBinary(RefreshResponseSchema, message);
  return response.responses.map(({ accessToken }) => {
    const { jti, iat, exp, ...claims } = decodeJwt(accessToken);
    const { kid, ...header } = decodeProtectedHeader(accessToken);
    return {
      header: { ...header, kid: typeof kid },
      claims,
      lifetime: (exp ?? 0) - (iat ?? 0),
      jti: typeof jti,
    };
  });
}

describe("the gRPC fast path", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("answers %s as Connect does", async (_, c) => {
    const [viaFastPath, viaConnect] = await Promise.all([call(fast, c), call(connect, c)]);
    expect(viaFastPath).toEqual(viaConnect);
    expect(viaFastPath.status).toBe(200);
  });
});
