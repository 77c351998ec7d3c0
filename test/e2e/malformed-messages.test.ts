import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startTestService, type TestService } from "../support/running-service.js";
import { expectStoreUnchanged } from "../support/store-snapshot.js";

const REGISTER = "/ucloud.auth.v1.AuthProvidersService/Register";

// Field 1 (items), length 5, holding field 1 (id), length 3, of bytes that
// are not UTF-8; then a message cut off in the middle of a field.
const NOT_UTF8 = Buffer.from([0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd]);
const TRUNCATED = Buffer.from([0x0a, 0x20, 0x0a, 0x1e, 0x61]);

function grpcWebFrame(message: Buffer): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

describe("requests whose protobuf message does not decode", () => {
  let test: TestService;
  let client: grpc.Client;

  beforeAll(async () => {
    test = await startTestService();
    client = new grpc.Client(
      test.service.url.replace("http://", ""),
      grpc.credentials.createInsecure(),
    );
  });
  afterAll(async () => {
    client.close();
    await test.close();
  });

  it.each([
    ["bytes that are not UTF-8", NOT_UTF8],
    ["a truncated message", TRUNCATED],
  ])("are INVALID_ARGUMENT over gRPC: %s", async (_name, bytes) => {
    const error = (await expectStoreUnchanged(
      test.service.store,
      () =>
        new Promise((resolve, reject) =>
          client.makeUnaryRequest(
            REGISTER,
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            (error, value) => (error === null ? resolve(value) : reject(error)),
          ),
        ),
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe("the request is not a valid ucloud.auth.v1.RegisterRequest message");
  });

  it.each([
    ["bytes that are not UTF-8", NOT_UTF8],
    ["a truncated message", TRUNCATED],
  ])("are 400 invalid_argument over the Connect protocol: %s", async (_name, bytes) => {
    const response = await fetch(test.service.url + REGISTER, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: bytes,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: "invalid_argument",
      message: "the request is not a valid ucloud.auth.v1.RegisterRequest message",
    });
  });

  it("are 400 invalid_argument when their compression does not decode", async () => {
    const response = await fetch(test.service.url + REGISTER, {
      method: "POST",
      headers: { "content-type": "application/proto", "content-encoding": "br" },
      body: Buffer.from([0x01, 0x02, 0x03]),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("are INVALID_ARGUMENT over gRPC-Web", async () => {
    const response = await fetch(test.service.url + REGISTER, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: grpcWebFrame(NOT_UTF8),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const trailer = body.subarray(body.indexOf(0x80) + 5).toString("utf8");
    expect(trailer).toContain("grpc-status: 3");
    expect(trailer).not.toContain("parse binary");
  });

  it("each leave a log line naming the call and the reason", () => {
    const refused = test.logLines.filter((line) => line.includes('"reason":"malformed_message"'));
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused[0]).toContain('"rpc":"Register"');
  });
});
