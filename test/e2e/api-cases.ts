import { createPublicKey, privateDecrypt, publicEncrypt } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ApiError, type ApiClient } from "../support/api-clients.js";
import { newCallerKey, signCallerToken } from "../support/caller-tokens.js";
import { EXPECTED_CLAIMS, verifyAsProvider } from "../support/provider-token-checks.js";
import { startTestService, type TestService } from "../support/running-service.js";
import { expectStoreUnchanged } from "../support/store-snapshot.js";
import type { ProviderStore } from "../../src/store/provider-store.js";

/** A Client factory gets the service's address both as host:port and as a URL. */
export type ClientFactory = (address: { hostPort: string; url: string }) => ApiClient;

/** StoreFactory gives the service a store of the kind under test, and cleans it up after. */
export type StoreFactory = () => Promise<{ store: ProviderStore; dispose(): Promise<void> }>;

/**
 * describeApi registers the end-to-end cases for one transport: every RPC,
 * its success and each error it can give, against a real service on a free
 * loopback port.
 */
export function describeApi(
  transport: string,
  makeClient: ClientFactory,
  storeFactory?: StoreFactory,
): void {
  describe(`the API over ${transport}`, () => {
    let test: TestService;
    let disposeStore: (() => Promise<void>) | undefined;
    let api: ApiClient;
    let counter = 0;
    const freshId = () => `${transport.replace(/[^a-z0-9]/g, "")}-${process.pid}-${++counter}`;

    beforeAll(async () => {
      const given = await storeFactory?.();
      disposeStore = given?.dispose;
      test = await startTestService({ store: given?.store });
      const url = test.service.url;
      api = makeClient({ hostPort: url.replace("http://", ""), url });
    });
    afterAll(async () => {
      api.close();
      await test.close();
      await disposeStore?.();
    });

    // `null` sends no authorization header at all.
    const call = (rpc: string, request: object, token: string | null = test.serviceToken) =>
      api.call(rpc, request as never, token ?? undefined);

    async function failure(promise: Promise<unknown>): Promise<ApiError> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof ApiError))
        throw new Error(`expected an ApiError, got ${String(error)}`);
      return error;
    }

    async function registerAndClaim(id = freshId()) {
      const registered = await call("Register", { items: [{ id }] });
      const claimToken = (registered.responses as { claimToken: string }[])[0]!.claimToken;
      const claimed = await call("Claim", { items: [{ claimToken }] });
      const credentials = (claimed.responses as Record<string, string>[])[0]!;
      return {
        id,
        claimToken,
        providerId: credentials.providerId!,
        publicKey: credentials.publicKey!,
        refreshToken: credentials.refreshToken!,
      };
    }

    async function refresh(refreshToken: string): Promise<string> {
      const response = await call("Refresh", { items: [{ refreshToken }] }, null);
      return (response.responses as { accessToken: string }[])[0]!.accessToken;
    }

    async function publicKeyOf(id: string): Promise<string> {
      return (await call("RetrievePublicKey", { id })).publicKey as string;
    }

    async function orchestratorToken(id: string): Promise<string> {
      const response = await call("RefreshAsOrchestrator", { items: [{ providerId: id }] });
      return (response.responses as { accessToken: string }[])[0]!.accessToken;
    }

    it("walks the whole life cycle: register, claim, refresh, renew, orchestrate", async () => {
      const provider = await registerAndClaim();
      expect(provider.providerId).toBe(provider.id);
      expect(await publicKeyOf(provider.id)).toBe(provider.publicKey);

      const first = await refresh(provider.refreshToken);
      await verifyAsProvider(first, provider.publicKey, EXPECTED_CLAIMS.provider(provider.id));

      const renewed = await call("Renew", { items: [{ id: provider.id }] });
      const fresh = (renewed.responses as Record<string, string>[])[0]!;
      expect(fresh.providerId).toBe(provider.id);
      expect(fresh.publicKey).not.toBe(provider.publicKey);
      expect(await publicKeyOf(provider.id)).toBe(fresh.publicKey);

      const stale = await failure(refresh(provider.refreshToken));
      expect(stale.code).toBe("UNAUTHENTICATED");

      const second = await refresh(fresh.refreshToken!);
      await verifyAsProvider(second, fresh.publicKey!, EXPECTED_CLAIMS.provider(provider.id));
      await expect(
        verifyAsProvider(second, provider.publicKey, EXPECTED_CLAIMS.provider(provider.id)),
      ).rejects.toThrow();

      const orchestrator = await orchestratorToken(provider.id);
      await verifyAsProvider(orchestrator, fresh.publicKey!, EXPECTED_CLAIMS.orchestrator());
      await expect(
        verifyAsProvider(orchestrator, provider.publicKey, EXPECTED_CLAIMS.orchestrator()),
      ).rejects.toThrow();
    });

    describe("register", () => {
      it.each([
        ["no items", () => []],
        ["1001 items", () => Array.from({ length: 1001 }, (_, i) => ({ id: `bulk-${i}` }))],
      ])("rejects a request with %s as INVALID_ARGUMENT", async (_name, items) => {
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Register", { items: items() }),
        );
        expect((error as ApiError).code).toBe("INVALID_ARGUMENT");
      });

      it.each(["Hippo", "", "-hippo", "a".repeat(65), "hip po", "hïppo", "hippo/../x", "{}"])(
        "rejects the malformed id %j as INVALID_ARGUMENT",
        async (id) => {
          const error = await expectStoreUnchanged(test.service.store, () =>
            call("Register", { items: [{ id }] }),
          );
          expect((error as ApiError).code).toBe("INVALID_ARGUMENT");
          expect((error as ApiError).message).toContain("items[0].id");
        },
      );

      it("registers nothing when one item in ten is malformed", async () => {
        const items = Array.from({ length: 10 }, (_, i) => ({ id: i === 6 ? "BAD" : freshId() }));
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Register", { items }),
        );
        expect((error as ApiError).code).toBe("INVALID_ARGUMENT");
        expect((error as ApiError).message).toContain("items[6].id");
      });

      it("refuses an id that is taken as ALREADY_EXISTS, changing nothing", async () => {
        const { id } = await registerAndClaim();
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Register", { items: [{ id: freshId() }, { id }] }),
        );
        expect((error as ApiError).code).toBe("ALREADY_EXISTS");
        expect((error as ApiError).message).toContain(id);
      });

      it("refuses one id named twice in a request", async () => {
        const id = freshId();
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Register", { items: [{ id }, { id }] }),
        );
        expect((error as ApiError).code).toBe("INVALID_ARGUMENT");
      });
    });

    describe("claim", () => {
      it.each([
        ["an unknown token", "A".repeat(43)],
        ["a malformed token", "not-a-token"],
        ["an empty token", ""],
      ])("answers %s with UNAUTHENTICATED", async (_name, claimToken) => {
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Claim", { items: [{ claimToken }] }),
        );
        expect((error as ApiError).code).toBe("UNAUTHENTICATED");
        expect((error as ApiError).message).not.toContain(claimToken || "\u0000");
      });

      it("lets a retry in the window issue a new refresh token, retiring the old", async () => {
        const provider = await registerAndClaim();
        const retried = await call("Claim", { items: [{ claimToken: provider.claimToken }] });
        const second = (retried.responses as Record<string, string>[])[0]!;

        expect(second.refreshToken).not.toBe(provider.refreshToken);
        expect((await failure(refresh(provider.refreshToken))).code).toBe("UNAUTHENTICATED");
        await verifyAsProvider(
          await refresh(second.refreshToken!),
          provider.publicKey,
          EXPECTED_CLAIMS.provider(provider.id),
        );
      });

      it("needs a service token", async () => {
        const error = await failure(call("Claim", { items: [{ claimToken: "A".repeat(43) }] }, ""));
        expect(error.code).toBe("UNAUTHENTICATED");
      });
    });

    describe("renew", () => {
      it("answers an unknown provider with NOT_FOUND and renews none of the others", async () => {
        const { id } = await registerAndClaim();
        const error = await expectStoreUnchanged(test.service.store, () =>
          call("Renew", { items: [{ id }, { id: freshId() }] }),
        );
        expect((error as ApiError).code).toBe("NOT_FOUND");
      });

      it("kills an outstanding claim token", async () => {
        const id = freshId();
        const registered = await call("Register", { items: [{ id }] });
        const claimToken = (registered.responses as { claimToken: string }[])[0]!.claimToken;
        await call("Renew", { items: [{ id }] });

        const error = await failure(call("Claim", { items: [{ claimToken }] }));
        expect(error.code).toBe("UNAUTHENTICATED");
      });
    });

    describe("refresh", () => {
      it("is public: it needs no bearer token", async () => {
        const provider = await registerAndClaim();
        expect(await refresh(provider.refreshToken)).toMatch(/^ey/);
      });

      it.each([
        ["an unknown token", "B".repeat(43)],
        ["a malformed token", "x".repeat(500)],
        ["a claim token", "claim"],
      ])("answers %s with UNAUTHENTICATED", async (name, token) => {
        const refreshToken =
          name === "a claim token" ? (await registerAndClaim()).claimToken : token;
        const error = await expectStoreUnchanged(test.service.store, () => refresh(refreshToken));
        expect((error as ApiError).code).toBe("UNAUTHENTICATED");
        expect((error as ApiError).message).not.toContain(refreshToken);
      });

      it("refuses more than 1000 items before any signing", async () => {
        const { refreshToken } = await registerAndClaim();
        const items = Array.from({ length: 1001 }, () => ({ refreshToken }));
        const error = await failure(call("Refresh", { items }, null));
        expect(error.code).toBe("INVALID_ARGUMENT");
      });
    });

    describe("refreshAsOrchestrator", () => {
      it.each([
        ["a USER", { role: "USER" }, "PERMISSION_DENIED"],
        ["a service off the allow-list", { sub: "_avatar" }, "PERMISSION_DENIED"],
        ["a PROVIDER", { role: "PROVIDER", sub: "#P_hippo" }, "PERMISSION_DENIED"],
        ["an allow-listed service", { sub: "_app-orchestrator" }, "OK"],
      ])("answers %s with %s", async (_name, claims, code) => {
        const { id, publicKey } = await registerAndClaim();
        const token = await signCallerToken(test.callerKey, claims);
        const request = { items: [{ providerId: id }] };

        if (code === "OK") {
          const response = await call("RefreshAsOrchestrator", request, token);
          const accessToken = (response.responses as { accessToken: string }[])[0]!.accessToken;
          await verifyAsProvider(accessToken, publicKey, EXPECTED_CLAIMS.orchestrator());
        } else {
          expect((await failure(call("RefreshAsOrchestrator", request, token))).code).toBe(code);
        }
      });

      it("answers an unknown provider with NOT_FOUND", async () => {
        const error = await failure(
          call("RefreshAsOrchestrator", { items: [{ providerId: freshId() }] }),
        );
        expect(error.code).toBe("NOT_FOUND");
      });
    });

    describe("caller authentication", () => {
      const other = newCallerKey();
      it.each([
        ["no token", async () => null],
        ["a garbage token", async () => "garbage"],
        ["an expired token", () => signCallerToken(test.callerKey, { expiresIn: -120 })],
        ["a token of another issuer", () => signCallerToken(test.callerKey, { iss: "evil" })],
        ["a token from an untrusted key", () => signCallerToken(other)],
      ])("answers %s with UNAUTHENTICATED", async (_name, token) => {
        const error = await failure(call("RetrievePublicKey", { id: "ucloud" }, await token()));
        expect(error.code).toBe("UNAUTHENTICATED");
      });
    });

    describe("retrievePublicKey", () => {
      it.each([
        ["an unknown provider", "nobody-here", "NOT_FOUND"],
        ["a malformed id", "No Such", "INVALID_ARGUMENT"],
      ])("answers %s with %s", async (_name, id, code) => {
        expect((await failure(call("RetrievePublicKey", { id }))).code).toBe(code);
      });
    });

    describe("generateKeyPair", () => {
      it("returns a working RSA-2048 pair in base64 DER and stores nothing", async () => {
        const before = await test.service.store.listAll();
        const pair = await call("GenerateKeyPair", {});
        expect(await test.service.store.listAll()).toEqual(before);

        const publicKey = createPublicKey({
          key: Buffer.from(pair.publicKey as string, "base64"),
          format: "der",
          type: "spki",
        });
        expect(publicKey.asymmetricKeyDetails).toMatchObject({
          modulusLength: 2048,
          publicExponent: 65537n,
        });
        const secret = Buffer.from("a message only the private key can read");
        const privateKey = {
          key: Buffer.from(pair.privateKey as string, "base64"),
          format: "der" as const,
          type: "pkcs8" as const,
        };
        expect(privateDecrypt(privateKey, publicEncrypt(publicKey, secret))).toEqual(secret);
        expect(pair.publicKey).not.toMatch(/[\s-]/);
      });

      it("needs a service token", async () => {
        expect((await failure(call("GenerateKeyPair", {}, null))).code).toBe("UNAUTHENTICATED");
      });
    });

    it("logs no secret it issued", async () => {
      const provider = await registerAndClaim();
      const accessToken = await refresh(provider.refreshToken);
      const log = test.logLines.join("");
      for (const secret of [provider.claimToken, provider.refreshToken, accessToken]) {
        expect(log).not.toContain(secret);
      }
      expect(log).not.toContain(test.serviceToken);
    });
  });
}
