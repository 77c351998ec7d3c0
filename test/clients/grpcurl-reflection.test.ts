import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import {
  peerBinary,
  runPeer,
  startTestService,
  type TestService,
} from "../support/client-fixtures.js";

let running: TestService;

beforeAll(async () => {
  running = await startTestService();
});
afterAll(async () => {
  await running?.close();
});

describe("grpcurl through server reflection", { timeout: 60_000 }, () => {
  test("list names every service, health included", async (context) => {
    const grpcurl = peerBinary(context, "grpcurl");
    const run = await runPeer(grpcurl, ["-plaintext", running.address, "list"]);

    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "ucloud.auth.v1.AuthProvidersService",
    ]);
  });

  test("describe shows the service and types from the files it imports", async (context) => {
    const grpcurl = peerBinary(context, "grpcurl");
    const service = await runPeer(grpcurl, [
      "-plaintext",
      running.address,
      "describe",
      "ucloud.auth.v1.AuthProvidersService",
    ]);
    expect(service.code).toBe(0);
    expect(service.stdout).toContain("service AuthProvidersService {");
    expect(service.stdout).toContain(
      "rpc Register ( .ucloud.auth.v1.RegisterRequest ) " +
        "returns ( .ucloud.auth.v1.RegisterResponse );",
    );
    expect(service.stdout).toContain("rpc RetrievePublicKey ( .ucloud.auth.v1.FindByStringId )");

    // PublicKeyAndRefreshToken lives in models.proto, which the service file imports.
    const message = await runPeer(grpcurl, [
      "-plaintext",
      running.address,
      "describe",
      "ucloud.auth.v1.PublicKeyAndRefreshToken",
    ]);
    expect(message.code).toBe(0);
    expect(message.stdout).toContain("string refresh_token = 3;");
  });

  test("an unknown symbol is reported as not found", async (context) => {
    const grpcurl = peerBinary(context, "grpcurl");
    const run = await runPeer(grpcurl, [
      "-plaintext",
      running.address,
      "describe",
      "no.such.Thing",
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Symbol not found: no\.such\.Thing/);
  });

  test("register, claim and refresh in grpcurl's JSON", async (context) => {
    const grpcurl = peerBinary(context, "grpcurl");
    const call = (method: string, body: object, withToken: boolean) =>
      runPeer(grpcurl, [
        "-plaintext",
        ...(withToken ? ["-H", `authorization: Bearer ${running.token}`] : []),
        "-d",
        JSON.stringify(body),
        running.address,
        `ucloud.auth.v1.AuthProvidersService/${method}`,
      ]);

    const registered = await call("Register", { items: [{ id: "grpcurl-site" }] }, true);
    expect(registered.stderr).toBe("");
    const claimToken = parse(registered.stdout).responses[0]!.claimToken;
    expect(claimToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    const claimed = await call("Claim", { items: [{ claimToken }] }, true);
    const credentials = parse(claimed.stdout).responses[0]!;
    expect(credentials.providerId).toBe("grpcurl-site");
    expect(credentials.publicKey).toMatch(/^MII/);

    const refreshed = await call(
      "Refresh",
      { items: [{ refreshToken: credentials.refreshToken }] },
      false,
    );
    const accessToken = parse(refreshed.stdout).responses[0]!.accessToken!;
    expect(decodeJwt(accessToken).role).toBe("PROVIDER");

    const unauthenticated = await call("Register", { items: [{ id: "other-site" }] }, false);
    expect(unauthenticated.code).not.toBe(0);
    expect(unauthenticated.stderr).toContain("Code: Unauthenticated");
  });
});

describe("reflection answers, v1 and v1alpha alike", { timeout: 60_000 }, () => {
  // The two versions differ only in their package name, so one typed client
  // drives both; answers are read by field, never by type name.
  const versions = [
    { name: "v1", service: v1.ServerReflection },
    { name: "v1alpha", service: v1alpha.ServerReflection as unknown as typeof v1.ServerReflection },
  ];

  for (const version of versions) {
    test(`${version.name}: files with their imports, once per stream, and errors`, async () => {
      const transport = createGrpcTransport({ baseUrl: running.service.url });
      const client = createClient(version.service, transport);
      const ask = (messageRequest: v1.ServerReflectionRequest["messageRequest"]) => ({
        host: "",
        messageRequest,
      });

      const answers: v1.ServerReflectionResponse[] = [];
      for await (const answer of client.serverReflectionInfo(
        (async function* () {
          yield ask({ case: "fileByFilename", value: "ucloud/auth/v1/auth_providers.proto" });
          yield ask({
            case: "fileContainingSymbol",
            value: "ucloud.auth.v1.AuthProvidersService.Claim",
          });
          yield ask({ case: "fileContainingSymbol", value: "ucloud.auth.v1.Nope" });
          yield ask({ case: "listServices", value: "" });
        })(),
      )) {
        answers.push(answer);
      }

      const names = (answer: v1.ServerReflectionResponse) =>
        answer.messageResponse.case === "fileDescriptorResponse"
          ? answer.messageResponse.value.fileDescriptorProto.map(
              (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
            )
          : [];
      expect(names(answers[0]!)).toEqual([
        "ucloud/auth/v1/auth_providers.proto",
        "ucloud/auth/v1/models.proto",
      ]);
      // The import went out with the first answer; only the file itself comes again.
      expect(names(answers[1]!)).toEqual(["ucloud/auth/v1/auth_providers.proto"]);

      const error = answers[2]!.messageResponse;
      expect(error.case).toBe("errorResponse");
      expect(error.case === "errorResponse" && error.value.errorCode).toBe(5);

      const list = answers[3]!.messageResponse;
      expect(list.case === "listServicesResponse" && list.value.service.length).toBe(4);
    });
  }
});

interface GrpcurlAnswer {
  responses: Array<Record<string, string>>;
}

function parse(text: string): GrpcurlAnswer {
  return JSON.parse(text) as GrpcurlAnswer;
}
