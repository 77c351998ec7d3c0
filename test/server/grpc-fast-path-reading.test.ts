import * as http2 from "node:http2";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startTestService, type TestService } from "../support/running-service.js";

describe("the straight-line gRPC path reading a request", () => {
  let test: TestService;
  beforeAll(async () => {
    test = await startTestService();
  });
  afterAll(() => test.close());

  it("answers once two whole messages are in, without waiting for the rest", async () => {
    const session = http2.connect(test.service.url);
    session.on("error", () => undefined);
    const stream = session.request({
      ":method": "POST",
      ":path": "/ucloud.auth.v1.AuthProvidersService/Refresh",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => undefined);

    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) =>
      stream.once("trailers", resolve),
    );
    // Empty messages one byte at a time, as a flood of tiny frames would send
    // them; the request is never ended by the client.
    for (let i = 0; i < 2000; i++) stream.write(Buffer.alloc(1));

    const answered = await Promise.race([
      trailers,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
    ]);
    session.destroy();

    expect(answered?.["grpc-status"]).toBeDefined();
    expect(answered?.["grpc-status"]).not.toBe("0");
    expect(answered?.["grpc-status"]).not.toBe("13");
  });
});
