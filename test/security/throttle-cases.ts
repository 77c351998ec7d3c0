import { randomBytes } from "node:crypto";

import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { AttackService, TRANSPORTS, type StoreFactory, type Transport } from "./attack-fixture.js";
import { auditProblems } from "./audit-checks.js";
import { grpcHealthCheck } from "./raw-requests.js";

const BURST = 5;

/**
 * describeThrottling checks, once per transport on a service of its own,
 * that an address which made BURST failed authentications is refused before
 * any lookup, while health checks and service calls still get through.
 */
export function describeThrottling(label: string, stores?: StoreFactory): void {
  describe.each(TRANSPORTS)(`the failure throttle over %s, on ${label}`, (transport: Transport) => {
    let svc: AttackService;

    beforeAll(async () => {
      svc = await AttackService.start({ PROVIDER_AUTH_THROTTLE_FAILURES: String(BURST) }, stores);
    });
    afterAll(() => svc?.close());

    it(`refuses the ${BURST + 1}th bad Refresh of an address as RESOURCE_EXHAUSTED`, async () => {
      const provider = await svc.registerAndClaim(transport);
      const guess = () => ({ items: [{ refreshToken: randomBytes(32).toString("base64url") }] });

      for (let i = 0; i < BURST; i += 1) {
        expect((await svc.refusal(transport, "Refresh", guess(), null)).code).toBe(
          "UNAUTHENTICATED",
        );
      }
      const throttled = await svc.refusal(transport, "Refresh", guess(), null);
      expect(throttled.code).toBe("RESOURCE_EXHAUSTED");
      expect(svc.linesOf(svc.lastCall())[0]?.reason).toBe("auth_failures_throttled");

      // Refused before any lookup: even the good token, and claims share the bucket.
      const good = { items: [{ refreshToken: provider.refreshToken }] };
      expect((await svc.refusal(transport, "Refresh", good, null)).code).toBe("RESOURCE_EXHAUSTED");
      const claim = { items: [{ claimToken: provider.claimToken }] };
      expect((await svc.refusal(transport, "Claim", claim)).code).toBe("RESOURCE_EXHAUSTED");
      expect(auditProblems(svc, svc.calls)).toEqual([]);
    });

    it("still answers the gRPC health check while the address is throttled", async () => {
      expect(await grpcHealthCheck(svc.rawGrpc)).toBe("SERVING");
      const health = createClient(
        Health,
        createConnectTransport({ baseUrl: svc.url, httpVersion: "1.1" }),
      );
      const answer = await health.check({ service: "" }, { timeoutMs: 10_000 });
      expect(answer.status).toBe(ServingStatus.SERVING);
    });

    it("still serves calls that are not guesses at a secret while throttled", async () => {
      const id = svc.freshId();
      await svc.register(transport, id);
      const answer = await svc.call(transport, "RetrievePublicKey", { id });
      expect(answer.publicKey).toMatch(/^MII/);
    });
  });
}
