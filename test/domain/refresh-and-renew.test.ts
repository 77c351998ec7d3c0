import { describe, expect, it } from "vitest";

import { DomainError } from "../../src/domain/errors.js";
import { MasterKeyRing } from "../../src/secrets/master-key-ring.js";
import { cryptoRandom } from "../../src/secrets/random.js";
import { domainFixture } from "../support/domain-fixture.js";
import { EXPECTED_CLAIMS, verifyAsProvider } from "../support/provider-token-checks.js";
import { expectStoreUnchanged } from "../support/store-snapshot.js";

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${error}`);
  return error;
}

describe("refresh", () => {
  it("signs a provider token that verifies with the published key", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["k8s"]);
    const [credentials] = await domain.claim([claimToken!]);

    const [issued] = await domain.refresh([credentials!.refreshToken]);
    expect(issued!.providerId).toBe("k8s");
    const publicKey = await domain.retrievePublicKey("k8s");
    await verifyAsProvider(issued!.accessToken, publicKey, EXPECTED_CLAIMS.provider("k8s"), {
      nowMs: clock.now(),
    });
  });

  it("tells a replayed retired token from an unknown one, in the log reason only", async () => {
    const { domain } = domainFixture();
    const [claimToken] = await domain.register(["k8s"]);
    const [old] = await domain.claim([claimToken!]);
    await domain.renew(["k8s"]);

    const replay = await rejection(domain.refresh([old!.refreshToken]));
    const guess = await rejection(domain.refresh(["G".repeat(43)]));

    expect(replay.code).toBe("unauthenticated");
    expect(replay.message).toBe(guess.message);
    expect(replay.securityEvent).toBe(true);
    expect(replay.reason).toBe("retired_refresh_token:k8s");
    expect(guess.securityEvent).toBe(false);
    expect(guess.reason).toBe("unknown_refresh_token");
  });

  it("gives one token per item, in item order", async () => {
    const { domain } = domainFixture();
    const claimTokens = await domain.register(["a", "b", "c"]);
    const credentials = await domain.claim([...claimTokens].reverse());

    const issued = await domain.refresh(credentials.map((c) => c.refreshToken));
    expect(issued.map((t) => t.providerId)).toEqual(["c", "b", "a"]);
  });
});

describe("renew", () => {
  it("retires the old key and refresh token at once", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["aau"]);
    const [before] = await domain.claim([claimToken!]);

    const [after] = await domain.renew(["aau"]);
    expect(after!.publicKey).not.toBe(before!.publicKey);
    expect(await domain.retrievePublicKey("aau")).toBe(after!.publicKey);
    expect((await rejection(domain.refresh([before!.refreshToken]))).code).toBe("unauthenticated");

    const [token] = await domain.refreshAsOrchestrator(["aau"]);
    await verifyAsProvider(token!.accessToken, after!.publicKey, EXPECTED_CLAIMS.orchestrator(), {
      nowMs: clock.now(),
    });
  });

  it("renews nothing when one id of the request is unknown", async () => {
    const { domain, store } = domainFixture();
    await domain.register(["a", "b"]);

    const error = await expectStoreUnchanged(store, () => domain.renew(["a", "ghost", "b"]));
    expect((error as DomainError).code).toBe("not_found");
    expect((error as DomainError).message).toContain('"ghost"');
  });
});

describe("the master key ring", () => {
  it("still opens keys and matches tokens made under an older entry", async () => {
    const old = MasterKeyRing.generate(cryptoRandom);
    const first = domainFixture({ ring: old });
    const [claimToken] = await first.domain.register(["hippo"]);
    const [credentials] = await first.domain.claim([claimToken!]);

    const rotated = new MasterKeyRing([{ id: "next", key: cryptoRandom(32) }, ...old.keys]);
    const second = domainFixture({ store: first.store, ring: rotated });
    const [issued] = await second.domain.refresh([credentials!.refreshToken]);

    const publicKey = await second.domain.retrievePublicKey("hippo");
    await verifyAsProvider(issued!.accessToken, publicKey, EXPECTED_CLAIMS.provider("hippo"), {
      nowMs: second.clock.now(),
    });
  });

  it("refuses to sign with a sealed key moved onto another provider's record", async () => {
    const { domain, store } = domainFixture();
    const claimTokens = await domain.register(["alpha", "beta"]);
    const [alpha, beta] = await domain.claim(claimTokens);

    const records = await store.listAll();
    const alphaRecord = records.find((r) => r.id === "alpha")!;
    const betaRecord = records.find((r) => r.id === "beta")!;
    await store.compareAndSet(betaRecord.version, {
      ...betaRecord,
      version: betaRecord.version + 1,
      sealedPrivateKey: alphaRecord.sealedPrivateKey,
    });

    const error = await rejection(domain.refresh([beta!.refreshToken]));
    expect(error.code).toBe("internal");
    expect(error.securityEvent).toBe(true);
    expect(await domain.refresh([alpha!.refreshToken])).toHaveLength(1);
  });
});

describe("bulk limits", () => {
  it.each([
    ["register", (d: ReturnType<typeof domainFixture>["domain"]) => d.register([])],
    ["claim", (d: ReturnType<typeof domainFixture>["domain"]) => d.claim([])],
    ["renew", (d: ReturnType<typeof domainFixture>["domain"]) => d.renew([])],
    ["refresh", (d: ReturnType<typeof domainFixture>["domain"]) => d.refresh([])],
  ])("%s refuses an empty request", async (_name, call) => {
    const { domain } = domainFixture();
    expect((await rejection(call(domain))).code).toBe("invalid_argument");
  });

  it("refuses 1001 registrations before generating any key", async () => {
    const { domain } = domainFixture();
    const ids = Array.from({ length: 1001 }, (_, i) => `p${i}`);
    const started = process.hrtime.bigint();
    expect((await rejection(domain.register(ids))).code).toBe("invalid_argument");
    // One RSA-2048 generation alone takes tens of milliseconds.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(20);
  });
});
