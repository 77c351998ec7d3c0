import { createPublicKey } from "node:crypto";

import { decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";

import { DomainError } from "../../src/domain/errors.js";
import { domainFixture } from "../support/domain-fixture.js";

/** A small seeded generator, so a failing sequence can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const IDS = ["alpha", "beta", "gamma", "delta"];
const OPERATIONS = ["register", "claim", "renew", "refresh", "orchestrate"] as const;

describe("key-subject binding", () => {
  it.each([1, 2, 3, 4, 5, 6])(
    "holds over a random sequence of calls (seed %i)",
    async (seed) => {
      const random = seeded(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      const { domain, clock } = domainFixture();
      const claimTokens = new Map<string, string>();
      const refreshTokens = new Map<string, string[]>();
      const issued: { token: string; by: string; kind: "provider" | "orchestrator" }[] = [];

      for (let step = 0; step < 40; step++) {
        const id = pick(IDS);
        const operation = pick(OPERATIONS);
        clock.advance(Math.floor(random() * 60_000));
        try {
          if (operation === "register") {
            claimTokens.set(id, (await domain.register([id]))[0]!);
          } else if (operation === "claim" && claimTokens.has(id)) {
            const [c] = await domain.claim([claimTokens.get(id)!]);
            refreshTokens.set(c!.providerId, [...(refreshTokens.get(id) ?? []), c!.refreshToken]);
          } else if (operation === "renew") {
            const [c] = await domain.renew([id]);
            refreshTokens.set(id, [...(refreshTokens.get(id) ?? []), c!.refreshToken]);
          } else if (operation === "refresh") {
            // Any refresh token ever seen, live or retired, for any provider.
            const all = [...refreshTokens.entries()].flatMap(([p, ts]) => ts.map((t) => [p, t]));
            if (all.length === 0) continue;
            const [owner, token] = pick(all);
            const [t] = await domain.refresh([token!]);
            issued.push({ token: t!.accessToken, by: owner!, kind: "provider" });
          } else if (operation === "orchestrate") {
            const [t] = await domain.refreshAsOrchestrator([id]);
            issued.push({ token: t!.accessToken, by: id, kind: "orchestrator" });
          }
        } catch (error) {
          if (!(error instanceof DomainError) || error.code === "internal") throw error;
        }

        // After every step: each token verifies with its owner's current key
        // or with none, never with another provider's, and names its owner.
        for (const { token, by, kind } of issued) {
          const claims = decodeJwt(token);
          expect(claims.sub).toBe(kind === "provider" ? `#P_${by}` : "_UCloud");
          for (const other of IDS.filter((o) => o !== by)) {
            const otherKey = await domain.retrievePublicKey(other).catch(() => undefined);
            if (otherKey === undefined) continue;
            const key = createPublicKey({
              key: Buffer.from(otherKey, "base64"),
              format: "der",
              type: "spki",
            });
            await expect(
              jwtVerify(token, key, { currentDate: new Date(clock.now()) }),
            ).rejects.toThrow();
          }
        }
      }
    },
    120_000,
  );
});
