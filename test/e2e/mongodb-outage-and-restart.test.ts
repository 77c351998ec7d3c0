import { randomBytes } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startMongoSuite } from "../store/mongo-fixtures.js";
import { ApiError, grpcClient, type ApiClient } from "../support/api-clients.js";
import { newCallerKey, signCallerToken } from "../support/caller-tokens.js";
import { EXPECTED_CLAIMS, verifyAsProvider } from "../support/provider-token-checks.js";
import { startServiceProcess, type ServiceProcess } from "../support/service-process.js";

// This file stops and starts the server, so it needs a FerretDB of its own.
const suite = await startMongoSuite("the service through a MongoDB outage", { probeRaces: false });
afterAll(() => suite?.close());
const canStopServer = suite?.ferretDb !== undefined;
if (suite !== undefined && !canStopServer) {
  process.stderr.write(
    "\n[skipped] the service through a MongoDB outage: MONGODB_URI names a server this " +
      "test did not start, and it must not stop someone else's server\n",
  );
}

describe.skipIf(!canStopServer)("the service on MongoDB, as a process", () => {
  const callerKey = newCallerKey();
  const env = {
    PROVIDER_AUTH_MONGODB_URI: suite?.uri ?? "",
    PROVIDER_AUTH_MONGODB_DATABASE: `provider_auth_process_${randomBytes(4).toString("hex")}`,
    PROVIDER_AUTH_MONGODB_TIMEOUT_MS: "1000",
    PROVIDER_AUTH_MASTER_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    PROVIDER_AUTH_CALLER_PUBLIC_KEY: callerKey.publicKeySpki,
    PROVIDER_AUTH_THROTTLE_FAILURES: "0",
  };
  let service: ServiceProcess;
  let api: ApiClient;
  let token: string;

  const connect = async () => {
    service = await startServiceProcess(env);
    api = grpcClient(service.url.replace("http://", ""));
  };
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
    );

  beforeAll(async () => {
    token = await signCallerToken(callerKey, { expiresIn: 3600 });
    await connect();
  });
  afterAll(async () => {
    api?.close();
    await service?.stop();
  });

  let refreshToken = "";
  let publicKey = "";

  it("serves the life cycle from the database", async () => {
    const registered = await api.call("Register", { items: [{ id: "durable" }] }, token);
    const [{ claimToken }] = registered.responses as [{ claimToken: string }];
    const claimed = await api.call("Claim", { items: [{ claimToken }] }, token);
    [{ refreshToken, publicKey }] = claimed.responses as [
      { refreshToken: string; publicKey: string },
    ];
    expect(await codeOf(api.call("Refresh", { items: [{ refreshToken }] }))).toBe("OK");
  });

  it("answers UNAVAILABLE quickly while the database is down, and stays up", async () => {
    await suite!.ferretDb!.stop();

    const started = Date.now();
    expect(await codeOf(api.call("Refresh", { items: [{ refreshToken }] }))).toBe("UNAVAILABLE");
    const register = api.call("Register", { items: [{ id: "half-a" }, { id: "half-b" }] }, token);
    expect(await codeOf(register)).toBe("UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(service.child.exitCode).toBeNull();
  });

  it("works again once the database is back, without a restart", async () => {
    await suite!.ferretDb!.start();

    let code = "";
    for (let attempt = 0; attempt < 20 && code !== "OK"; attempt++) {
      code = await codeOf(api.call("Refresh", { items: [{ refreshToken }] }));
      if (code !== "OK") await new Promise((r) => setTimeout(r, 250));
    }
    expect(code).toBe("OK");

    // The register that failed during the outage left nothing behind.
    const key = (id: string) => codeOf(api.call("RetrievePublicKey", { id }, token));
    expect([await key("half-a"), await key("half-b")]).toEqual(["NOT_FOUND", "NOT_FOUND"]);
  });

  it("keeps every provider, key and refresh token across a restart of the service", async () => {
    api.close();
    expect(await service.stop()).toBe(0);
    await connect();

    const retrieved = await api.call("RetrievePublicKey", { id: "durable" }, token);
    expect(retrieved.publicKey).toBe(publicKey);

    const refreshed = await api.call("Refresh", { items: [{ refreshToken }] });
    const [{ accessToken }] = refreshed.responses as [{ accessToken: string }];
    await verifyAsProvider(accessToken, publicKey, EXPECTED_CLAIMS.provider("durable"));

    const orchestrated = await api.call(
      "RefreshAsOrchestrator",
      { items: [{ providerId: "durable" }] },
      token,
    );
    const [{ accessToken: orchestrator }] = orchestrated.responses as [{ accessToken: string }];
    await verifyAsProvider(orchestrator, publicKey, EXPECTED_CLAIMS.orchestrator());
  });

  it("logged no secret it handed out", () => {
    const log = service.stdout() + service.stderr();
    for (const secret of [refreshToken, token]) expect(log).not.toContain(secret);
  });
});
