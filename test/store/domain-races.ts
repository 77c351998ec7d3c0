import { expect, it } from "vitest";

import type { ProviderCredentials } from "../../src/domain/provider-auth.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { buildDomain, errorCode, publicKeyOfSealed, warmUp, type Domain } from "./fixtures.js";

/**
 * registerDomainRaces adds the cases that race real ProviderAuth calls on one
 * provider. Whatever the interleaving, the provider must end with a key pair
 * that matches itself and exactly one refresh token that works, and every
 * call that lost must say `conflict`. `skipReason`, when set, skips them.
 */
export function registerDomainRaces(
  currentStore: () => ProviderStore,
  skipReason: string | undefined,
): void {
  const race = it.skipIf(skipReason !== undefined);

  race("20 concurrent claims of one claim token leave one working refresh token", async () => {
    const domain = buildDomain(currentStore());
    try {
      const [claimToken] = await domain.auth.register(["race-claim"]);
      await warmUp(currentStore());

      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => domain.auth.claim([claimToken!])),
      );

      await expectOneSurvivor(domain, currentStore(), "race-claim", outcomes);
    } finally {
      domain.close();
    }
  });

  race(
    "10 concurrent renews of one provider leave one key pair and one refresh token",
    async () => {
      const domain = buildDomain(currentStore());
      try {
        const [claimToken] = await domain.auth.register(["race-renew"]);
        const [claimed] = await domain.auth.claim([claimToken!]);
        await warmUp(currentStore());

        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, () => domain.auth.renew(["race-renew"])),
        );

        const survivor = await expectOneSurvivor(domain, currentStore(), "race-renew", outcomes);
        expect(survivor.publicKey).not.toBe(claimed!.publicKey);
        await expect(domain.auth.refresh([claimed!.refreshToken])).rejects.toMatchObject({
          code: "unauthenticated",
        });
      } finally {
        domain.close();
      }
    },
  );
}

async function expectOneSurvivor(
  domain: Domain,
  store: ProviderStore,
  id: string,
  outcomes: readonly PromiseSettledResult<ProviderCredentials[]>[],
): Promise<ProviderCredentials> {
  const losers = outcomes.flatMap((o) => (o.status === "rejected" ? [errorCode(o.reason)] : []));
  const winners = outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value : []));
  expect(new Set(losers)).toEqual(new Set(losers.length > 0 ? ["conflict"] : []));
  expect(winners.length).toBeGreaterThanOrEqual(1);

  const [record] = await store.findByIds([id]);
  expect(publicKeyOfSealed(domain, record!)).toBe(record!.publicKey);

  const refreshed = await Promise.allSettled(
    winners.map((w) => domain.auth.refresh([w.refreshToken])),
  );
  const working = winners.filter((_, i) => refreshed[i]!.status === "fulfilled");
  const rejected = refreshed.flatMap((r) => (r.status === "rejected" ? [errorCode(r.reason)] : []));
  expect(working).toHaveLength(1);
  expect(rejected.every((code) => code === "unauthenticated")).toBe(true);

  expect(working[0]!.publicKey).toBe(record!.publicKey);
  return working[0]!;
}
