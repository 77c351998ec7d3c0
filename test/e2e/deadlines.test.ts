import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { startTestService, type TestService } from "../support/running-service.js";

describe("client deadlines", () => {
  let test: TestService;

  beforeAll(async () => {
    // No pooled keys: a register of 20 providers spends seconds generating them.
    test = await startTestService({ env: { PROVIDER_AUTH_KEY_POOL_SIZE: "0" } });
  });
  afterAll(() => test.close());

  it("drop a register whose caller gave up: nothing is written afterwards", async () => {
    const client = createClient(
      AuthProvidersService,
      createConnectTransport({ baseUrl: test.service.url, httpVersion: "1.1" }),
    );
    const ids = Array.from({ length: 20 }, (_, i) => `late-${i}`);

    const error = await client
      .register(
        { items: ids.map((id) => ({ id })) },
        { timeoutMs: 150, headers: { authorization: `Bearer ${test.serviceToken}` } },
      )
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(error?.code).toBe(Code.DeadlineExceeded);

    // The abandoned key generation needs about two seconds here; give it
    // ample time to reach the point where it would have written.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await test.service.store.findByIds(ids)).toEqual([]);
  }, 60_000);
});
