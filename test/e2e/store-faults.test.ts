import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DomainError } from "../../src/domain/errors.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { ApiError, grpcClient, type ApiClient } from "../support/api-clients.js";
import { startTestService, type TestService } from "../support/running-service.js";

type Fault = "none" | "unreachable" | "bug";

/**
 * A store that fails on demand, the way a real one does: unreachable (the
 * store port's `unavailable` error) or with an unexpected bug whose message
 * carries something that must never reach a client.
 */
function faultyStore(inner: ProviderStore, fault: () => Fault): ProviderStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;

      return (...args: unknown[]) => {
        if (fault() === "unreachable") {
          return Promise.reject(
            new DomainError("unavailable", "the provider store is unreachable; retry shortly"),
          );
        }
        if (fault() === "bug") {
          return Promise.reject(new TypeError("driver exploded near secret-sauce-1234"));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("store faults", () => {
  let fault: Fault = "none";
  let test: TestService;
  let api: ApiClient;

  beforeAll(async () => {
    test = await startTestService({ store: faultyStore(new MemoryStore(), () => fault) });
    api = grpcClient(test.service.url.replace("http://", ""));
  });
  afterAll(async () => {
    api.close();
    await test.close();
  });

  async function codeAndMessage(rpc: string, request: object, token?: string) {
    const error = await api.call(rpc, request as never, token).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ApiError)) throw new Error("the call was expected to fail");
    return { code: error.code, message: error.message };
  }

  it("answers UNAVAILABLE while the store is unreachable, and works again after", async () => {
    fault = "unreachable";
    const down = await codeAndMessage("RetrievePublicKey", { id: "hippo" }, test.serviceToken);
    expect(down.code).toBe("UNAVAILABLE");
    expect(down.message).toContain("retry");

    fault = "none";
    await api.call("Register", { items: [{ id: "hippo" }] }, test.serviceToken);
    const key = await api.call("RetrievePublicKey", { id: "hippo" }, test.serviceToken);
    expect(key.publicKey).toMatch(/^MII/);
  });

  it("answers an unexpected fault with a bare INTERNAL and logs the cause", async () => {
    fault = "bug";
    const failed = await codeAndMessage("Refresh", { items: [{ refreshToken: "R".repeat(43) }] });
    fault = "none";

    expect(failed.code).toBe("INTERNAL");
    expect(failed.message).toBe("INTERNAL: internal error");
    const logged = test.logLines.filter((line) => line.includes('"outcome":"internal"'));
    expect(logged.at(-1)).toContain("TypeError: driver exploded");
  });
});
