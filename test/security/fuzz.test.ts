import { fromBinary, toJson, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { rememberSecretsIn } from "../support/secret-ledger.js";
import { AttackService } from "./attack-fixture.js";
import {
  craftedBinary,
  deepJson,
  mutateBytes,
  mutateText,
  Random,
  randomBulk,
  randomJson,
  seedBinary,
} from "./fuzz-inputs.js";
import { grpcHealthCheck, httpRequest, rawGrpcCall, SERVICE_PATH } from "./raw-requests.js";

const SEED = 0x5eed_2024;
const REQUESTS = 1500;
const CONCURRENCY = 8;
// A safety bound: the pass normally takes a few seconds.
const DEADLINE_MS = 45_000;

const CHANNELS = ["connect-json", "connect-proto", "grpc", "ucloud-json"] as const;
type Channel = (typeof CHANNELS)[number];

const ITEM_FIELD: Readonly<Record<string, string>> = {
  Register: "id",
  Claim: "claimToken",
  Renew: "id",
  Refresh: "refreshToken",
  RefreshAsOrchestrator: "providerId",
};

const UCLOUD_PATH: Readonly<Record<string, string>> = {
  Register: "/auth/providers",
  Claim: "/auth/providers/claim",
  Renew: "/auth/providers/renew",
  Refresh: "/auth/providers/refresh",
  RefreshAsOrchestrator: "/auth/providers/refreshAsOrchestrator",
  RetrievePublicKey: "/auth/providers/retrieveKey",
  GenerateKeyPair: "/auth/providers/generateKeyPair",
};

interface FuzzRequest {
  channel: Channel;
  method: DescMethod;
  body: Buffer | string | undefined;
  httpMethod: string;
  query: string;
  contentType: string;
  bearer: string | undefined;
}

interface Outcome {
  code: string;
  message: string;
  status: number;
}

interface Bearers {
  none: undefined;
  garbage: string;
  expired: string;
  user: string;
  service: string;
}

// Register and Renew never get a token that may write, so no input can
// change the store; the other calls cannot write without a real secret.
function bearerFor(rpc: string, r: Random, b: Bearers): string | undefined {
  const weak = [b.none, b.garbage, b.expired, b.user];
  if (rpc === "Register" || rpc === "Renew" || rpc === "GenerateKeyPair") return r.pick(weak);
  return r.pick([...weak, b.service, b.service]);
}

function nextRequest(
  r: Random,
  seeds: Readonly<Record<string, JsonValue>>,
  bearers: Bearers,
): FuzzRequest {
  const method = r.pick(AuthProvidersService.methods);
  const channel = r.pick(CHANNELS);
  const seed = seeds[method.name]!;
  const request: FuzzRequest = {
    channel,
    method,
    body: undefined,
    httpMethod: "POST",
    query: "",
    contentType: channel === "connect-proto" ? "application/proto" : "application/json",
    bearer: bearerFor(method.name, r, bearers),
  };

  if (channel === "connect-proto" || channel === "grpc") {
    const kind = r.int(3);
    if (kind === 0) request.body = r.bytes(r.int(300));
    else if (kind === 1) request.body = mutateBytes(r, seedBinary(method, seed));
    else request.body = craftedBinary(r);
    return request;
  }

  const kind = r.int(5);
  if (kind === 0) request.body = JSON.stringify(randomJson(r));
  else if (kind === 1)
    request.body = JSON.stringify(randomBulk(r, ITEM_FIELD[method.name] ?? "id"));
  else if (kind === 2) request.body = mutateText(r, JSON.stringify(seed));
  else if (kind === 3) request.body = deepJson(r.pick([64, 4096]));
  else request.body = r.bytes(r.int(100)).toString("latin1");
  if (r.chance(0.05))
    request.contentType = r.pick(["text/plain", "application/json; charset=utf-16"]);

  if (channel === "ucloud-json") {
    if (method.name === "RetrievePublicKey") {
      request.httpMethod = "GET";
      request.body = undefined;
      const value = Buffer.from(String(randomJson(r, 0)))
        .toString("hex")
        .replace(/(..)/g, "%$1");
      request.query = r.pick([`id=${value}`, `id[$ne]=${value}`, `id=a&id=${value}`, value]);
    }
    if (r.chance(0.05)) request.httpMethod = r.pick(["PUT", "DELETE", "PATCH"]);
  }
  return request;
}

// Whatever the service hands out during the pass goes into the ledger too.
function rememberAnswer(method: DescMethod, bytes: Buffer): void {
  try {
    rememberSecretsIn(toJson(method.output, fromBinary(method.output, bytes)));
  } catch {
    // Not a message of the output type: there is nothing to remember.
  }
}

async function send(svc: AttackService, request: FuzzRequest): Promise<Outcome> {
  const rpc = request.method.name;
  if (request.channel === "grpc") {
    const path = `${SERVICE_PATH}/${rpc}`;
    const answer = await rawGrpcCall(svc.rawGrpc, path, request.body as Buffer, request.bearer);
    if (answer.code === "OK" && answer.bytes !== undefined)
      rememberAnswer(request.method, answer.bytes);
    return { code: answer.code, message: answer.details, status: 0 };
  }

  const path = request.channel === "ucloud-json" ? UCLOUD_PATH[rpc]! : `${SERVICE_PATH}/${rpc}`;
  const url = `${svc.url}${path}${request.query === "" ? "" : `?${request.query}`}`;
  const body =
    typeof request.body === "string" ? request.body : request.body && new Uint8Array(request.body);
  const answer = await httpRequest(url, {
    method: request.httpMethod,
    body,
    contentType: request.body === undefined ? undefined : request.contentType,
    token: request.bearer,
  });
  const parsed = (answer.body ?? {}) as Record<string, unknown>;
  if (answer.status === 200) rememberSecretsIn(parsed);
  const code = parsed.code ?? parsed.errorCode ?? (answer.status === 200 ? "OK" : "none");
  const message = parsed.message ?? parsed.why ?? answer.text.slice(0, 80);
  return { code: String(code).toUpperCase(), message: String(message), status: answer.status };
}

/** problemOf says what is wrong with an answer, or undefined when nothing is. */
function problemOf(outcome: Outcome): string | undefined {
  const internal = outcome.code === "INTERNAL" || outcome.code === "UNKNOWN";
  if (internal && outcome.message !== "internal error") return `${outcome.code} with detail`;
  if (!internal && outcome.status >= 500) return `HTTP ${outcome.status} as ${outcome.code}`;
  return undefined;
}

function describeInput(request: FuzzRequest): string {
  const body = request.body ?? request.query;
  const shown =
    typeof body === "string"
      ? JSON.stringify(body.slice(0, 40))
      : body.subarray(0, 24).toString("hex");
  return `${request.method.name} ${shown}`;
}

async function snapshot(store: ProviderStore) {
  return (await store.listAll()).sort((a, b) => a.id.localeCompare(b.id));
}

describe("a bounded fuzz pass over every RPC, on every protocol", () => {
  let svc: AttackService;
  let seeds: Record<string, JsonValue>;
  let bearers: Bearers;
  let target: { id: string; refreshToken: string };

  beforeAll(async () => {
    svc = await AttackService.start({});
    target = await svc.registerAndClaim("grpc-js", `fuzz-target-${process.pid}-a1b2c3`);
    bearers = {
      none: undefined,
      garbage: "eyJhbGciOiJub25lIn0.e30.",
      expired: await svc.mint({ expiresIn: -120, issuedAgo: 720 }),
      user: await svc.mint({ role: "USER", sub: "fuzz-user" }),
      service: svc.test.serviceToken,
    };
    seeds = {
      Register: { items: [{ id: "fuzz-new" }] },
      Claim: { items: [{ claimToken: "C".repeat(43) }] },
      Renew: { items: [{ id: "fuzz-unknown" }] },
      Refresh: { items: [{ refreshToken: target.refreshToken }] },
      RefreshAsOrchestrator: { items: [{ providerId: target.id }] },
      RetrievePublicKey: { id: target.id },
      GenerateKeyPair: {},
    };
  });
  afterAll(() => svc?.close());

  it("never crashes, never details an internal error, and changes nothing", async () => {
    const before = await snapshot(svc.store);
    const random = new Random(SEED);
    const requests = Array.from({ length: REQUESTS }, () => nextRequest(random, seeds, bearers));

    const problems = new Map<string, { count: number; example: string }>();
    const codes = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    let sent = 0;
    const worker = async () => {
      while (next < requests.length && Date.now() - started < DEADLINE_MS) {
        const request = requests[next++]!;
        sent += 1;
        const outcome = await send(svc, request).catch((error: unknown) => ({
          code: "NO ANSWER",
          message: error instanceof Error ? error.message : String(error),
          status: 599,
        }));
        codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
        const problem = problemOf(outcome);
        if (problem === undefined) continue;
        // grpc-js leaves the server's %3A escapes in; numbers vary per input.
        const shape = outcome.message
          .replace(/%3A/g, ":")
          .replace(/[0-9]+/g, "N")
          .slice(0, 48);
        const key = `${request.channel}: ${problem}: ${shape}`;
        const entry = problems.get(key) ?? { count: 0, example: describeInput(request) };
        problems.set(key, { ...entry, count: entry.count + 1 });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(sent, `answers by code: ${JSON.stringify(Object.fromEntries(codes))}`).toBe(REQUESTS);
    expect(await grpcHealthCheck(svc.rawGrpc)).toBe("SERVING");
    for (const transport of ["grpc-js", "connect"] as const) {
      const answer = await svc.call(transport, "RetrievePublicKey", { id: target.id });
      expect(answer.publicKey).toMatch(/^MII/);
    }
    expect(await snapshot(svc.store)).toEqual(before);

    const report = [...problems].map(([key, p]) => `${key} (x${p.count}, e.g. ${p.example})`);
    expect(report).toEqual([]);
  }, 120_000);
});
