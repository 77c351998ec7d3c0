import { createPublicKey } from "node:crypto";

import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";

import type { ProviderAuth } from "../../src/domain/provider-auth.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ProviderRecord } from "../../src/store/provider-store.js";
import { domainFixture } from "../support/domain-fixture.js";

/**
 * A store on which the first write of provider "b" loses its race, and on
 * which, at that moment, another call signs for "a": the interleaving a
 * networked store allows between two writes of one bulk renew.
 */
class RacingStore extends MemoryStore {
  domain: ProviderAuth | undefined;
  private lost = false;

  override async compareAndSet(expectedVersion: number, next: ProviderRecord): Promise<boolean> {
    if (next.id === "b" && !this.lost) {
      this.lost = true;
      await this.domain!.refreshAsOrchestrator(["a"]);
      return false;
    }
    return super.compareAndSet(expectedVersion, next);
  }
}

describe("a bulk change undone after a lost race", () => {
  it("leaves no trace: later tokens verify with the key the provider was given", async () => {
    const store = new RacingStore();
    const { domain, clock } = domainFixture({ store });
    store.domain = domain;
    await domain.register(["a", "b"]);

    const lost = await domain.renew(["a", "b"]).catch((e: { code: string }) => e.code);
    expect(lost).toBe("conflict");

    const [renewed] = await domain.renew(["a"]);
    expect(await domain.retrievePublicKey("a")).toBe(renewed!.publicKey);

    const [token] = await domain.refreshAsOrchestrator(["a"]);
    const key = createPublicKey({
      key: Buffer.from(renewed!.publicKey, "base64"),
      format: "der",
      type: "spki",
    });
    await jwtVerify(token!.accessToken, key, { currentDate: new Date(clock.now()) });
  });
});
