import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { FailureThrottle } from "../../src/auth/failure-throttle.js";
import { ApiError, connectClient, type ApiClient } from "../support/api-clients.js";
import { startTestService, type TestService } from "../support/running-service.js";

describe("the failure throttle", () => {
  it("blocks an address after its burst and lets it back as the bucket refills", () => {
    const throttle = new FailureThrottle({ burst: 3, windowSeconds: 60, maxAddresses: 10 });
    for (let i = 0; i < 3; i++) throttle.recordFailure("10.0.0.1", 0);

    expect(throttle.isBlocked("10.0.0.1", 0)).toBe(true);
    expect(throttle.isBlocked("10.0.0.2", 0)).toBe(false);
    expect(throttle.isBlocked("10.0.0.1", 19_000)).toBe(true);
    expect(throttle.isBlocked("10.0.0.1", 20_000)).toBe(false);
  });

  it("remembers at most maxAddresses addresses", () => {
    const throttle = new FailureThrottle({ burst: 1, windowSeconds: 60, maxAddresses: 100 });
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`addr-${i}`, 0);
    expect(throttle.trackedAddresses).toBe(100);
    expect(throttle.isBlocked("addr-9999", 0)).toBe(true);
  });

  it("is off with a burst of 0", () => {
    const throttle = new FailureThrottle({ burst: 0, windowSeconds: 60, maxAddresses: 10 });
    throttle.recordFailure("a", 0);
    expect(throttle.isBlocked("a", 0)).toBe(false);
  });
});

describe("throttled refresh and claim on the running service", () => {
  let test: TestService;
  let api: ApiClient;

  beforeAll(async () => {
    test = await startTestService({ env: { PROVIDER_AUTH_THROTTLE_FAILURES: "5" } });
    api = connectClient(test.service.url, "connect");
  });
  afterAll(() => test.close());

  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
    );

  it("answers RESOURCE_EXHAUSTED once an address has failed too often", async () => {
    const bad = { items: [{ refreshToken: "T".repeat(43) }] };
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push(await codeOf(api.call("Refresh", bad)));
    expect(codes).toEqual([...Array(5).fill("UNAUTHENTICATED"), "RESOURCE_EXHAUSTED"]);

    const claim = { items: [{ claimToken: "C".repeat(43) }] };
    expect(await codeOf(api.call("Claim", claim, test.serviceToken))).toBe("RESOURCE_EXHAUSTED");
  });

  it("does not throttle calls whose failures are not guesses at a token", async () => {
    for (let i = 0; i < 3; i++) {
      expect(await codeOf(api.call("RetrievePublicKey", { id: "nobody" }, test.serviceToken))).toBe(
        "NOT_FOUND",
      );
    }
  });
});
