import { describe, expect, it } from "vitest";

import { DomainError } from "../../src/domain/errors.js";
import { CLAIM_TTL_MS, domainFixture, RETRY_WINDOW_MS } from "../support/domain-fixture.js";
import { expectStoreUnchanged } from "../support/store-snapshot.js";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${error}`);
  return error.code;
}

describe("claim tokens", () => {
  it("accept a retry inside the window, each retry retiring the refresh token before", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);

    const [first] = await domain.claim([claimToken!]);
    clock.advance(RETRY_WINDOW_MS - 1000);
    const [second] = await domain.claim([claimToken!]);

    expect(second!.refreshToken).not.toBe(first!.refreshToken);
    expect(await codeOf(domain.refresh([first!.refreshToken]))).toBe("unauthenticated");
    expect(await domain.refresh([second!.refreshToken])).toHaveLength(1);
  });

  it("die when the retry window after the first use has passed", async () => {
    const { domain, clock, store } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);
    await domain.claim([claimToken!]);

    clock.advance(RETRY_WINDOW_MS + 1);
    const error = await expectStoreUnchanged(store, () => domain.claim([claimToken!]));
    expect((error as DomainError).code).toBe("unauthenticated");
  });

  it("keep the window measured from the first use, not the last retry", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);
    await domain.claim([claimToken!]);

    clock.advance(RETRY_WINDOW_MS - 1000);
    await domain.claim([claimToken!]);
    clock.advance(2000);
    expect(await codeOf(domain.claim([claimToken!]))).toBe("unauthenticated");
  });

  it("expire unused after the claim time-to-live", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);

    clock.advance(CLAIM_TTL_MS + 1);
    expect(await codeOf(domain.claim([claimToken!]))).toBe("unauthenticated");
  });

  it("still work just before the claim time-to-live ends", async () => {
    const { domain, clock } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);

    clock.advance(CLAIM_TTL_MS - 1);
    expect(await domain.claim([claimToken!])).toHaveLength(1);
  });

  it("are dead once the provider is renewed", async () => {
    const { domain } = domainFixture();
    const [claimToken] = await domain.register(["hippo"]);
    await domain.renew(["hippo"]);

    expect(await codeOf(domain.claim([claimToken!]))).toBe("unauthenticated");
  });

  it("give every bad claim token the same message", async () => {
    const { domain, clock } = domainFixture();
    const [used] = await domain.register(["hippo"]);
    await domain.claim([used!]);
    clock.advance(RETRY_WINDOW_MS + 1);

    const messages = await Promise.all(
      [used!, "Q".repeat(43), "short"].map((token) =>
        domain.claim([token]).catch((e: DomainError) => e.message),
      ),
    );
    expect(new Set(messages).size).toBe(1);
  });
});

describe("bulk claims", () => {
  it("claim nothing when one token of the request is bad", async () => {
    const { domain, store } = domainFixture();
    const claimTokens = await domain.register(["a", "b"]);

    const error = await expectStoreUnchanged(store, () =>
      domain.claim([claimTokens[0]!, "Z".repeat(43), claimTokens[1]!]),
    );
    expect((error as DomainError).message).toContain("items[1].claimToken");
  });
});
