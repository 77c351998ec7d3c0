import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { grpcClient, type ApiClient } from "../support/api-clients.js";
import { startTestService, type TestService } from "../support/running-service.js";

const run = promisify(execFile);

// Debian's Python carries PyJWT and the cryptography package (python3-jwt),
// a JWT implementation written by other people than this service's.
const PYTHON = "/usr/bin/python3";

const VERIFY_WITH_PYJWT = `
import base64, json, sys, jwt
from cryptography.hazmat.primitives.serialization import load_der_public_key
token, spki, subject, role = sys.argv[1:5]
key = load_der_public_key(base64.b64decode(spki))
claims = jwt.decode(token, key, algorithms=["RS256"], issuer="cloud.sdu.dk",
                    audience="all:write", options={"require": ["exp", "iat", "iss", "sub"]})
assert claims["sub"] == subject, claims["sub"]
assert claims["role"] == role, claims["role"]
print(json.dumps(claims))
`;

// The same Refresh through grpcio, the C-core gRPC implementation, with the
// protobuf bytes written by hand: nothing of this service's stack is used.
const REFRESH_WITH_GRPCIO = `
import sys, grpc
address, refresh_token = sys.argv[1:3]
def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out
def field(number, payload):
    return bytes([number << 3 | 2]) + varint(len(payload)) + payload
request = field(1, field(1, refresh_token.encode()))
call = grpc.insecure_channel(address).unary_unary(
    "/ucloud.auth.v1.AuthProvidersService/Refresh")
response = call(request, timeout=10)
def read_field(data):
    length, shift, i = 0, 0, 1
    while True:
        length |= (data[i] & 0x7F) << shift
        shift, i = shift + 7, i + 1
        if data[i - 1] < 0x80:
            return data[i:i + length]
print(read_field(read_field(response)).decode())
`;

async function grpcioAvailable(): Promise<string | undefined> {
  try {
    await run(PYTHON, ["-c", "import grpc"]);
    return undefined;
  } catch {
    return "grpcio is not installed for Debian's Python (apt-get install python3-grpcio)";
  }
}

async function pyjwtAvailable(): Promise<string | undefined> {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  try {
    await run(PYTHON, ["-c", "import jwt, cryptography"]);
    return undefined;
  } catch {
    return "PyJWT is not installed for Debian's Python (apt-get install python3-jwt)";
  }
}

describe("tokens fetched and checked by independent implementations (grpcio, PyJWT)", () => {
  let test: TestService;
  let api: ApiClient;
  let missing: string | undefined;

  beforeAll(async () => {
    missing = await pyjwtAvailable();
    test = await startTestService();
    api = grpcClient(test.service.url.replace("http://", ""));
  });
  afterAll(async () => {
    api.close();
    await test.close();
  });

  it("accepts provider and orchestrator tokens with the published public key", async (ctx) => {
    if (missing !== undefined) {
      process.stderr.write(`SKIPPED independent verifier: ${missing}\n`);
      ctx.skip();
    }
    const token = test.serviceToken;
    const registered = await api.call("Register", { items: [{ id: "pyjwt" }] }, token);
    const [{ claimToken }] = registered.responses as [{ claimToken: string }];
    const claimed = await api.call("Claim", { items: [{ claimToken }] }, token);
    const [{ refreshToken, publicKey }] = claimed.responses as [
      { refreshToken: string; publicKey: string },
    ];

    const refreshed = await api.call("Refresh", { items: [{ refreshToken }] });
    const [{ accessToken }] = refreshed.responses as [{ accessToken: string }];
    const { stdout } = await run(PYTHON, [
      "-c",
      VERIFY_WITH_PYJWT,
      accessToken,
      publicKey,
      "#P_pyjwt",
      "PROVIDER",
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ iss: "cloud.sdu.dk", principalType: "provider" });

    const orchestrated = await api.call(
      "RefreshAsOrchestrator",
      { items: [{ providerId: "pyjwt" }] },
      token,
    );
    const [{ accessToken: orchestratorToken }] = orchestrated.responses as [
      { accessToken: string },
    ];
    await run(PYTHON, [
      "-c",
      VERIFY_WITH_PYJWT,
      orchestratorToken,
      publicKey,
      "_UCloud",
      "SERVICE",
    ]);

    const grpcioMissing = await grpcioAvailable();
    if (grpcioMissing !== undefined) {
      process.stderr.write(`SKIPPED the grpcio half: ${grpcioMissing}\n`);
    } else {
      const address = test.service.url.replace("http://", "");
      const { stdout: viaGrpcio } = await run(PYTHON, [
        "-c",
        REFRESH_WITH_GRPCIO,
        address,
        refreshToken,
      ]);
      await run(PYTHON, [
        "-c",
        VERIFY_WITH_PYJWT,
        viaGrpcio.trim(),
        publicKey,
        "#P_pyjwt",
        "PROVIDER",
      ]);
    }

    const tampered = accessToken.slice(0, -4) + (accessToken.endsWith("AAAA") ? "BBBB" : "AAAA");
    await expect(
      run(PYTHON, ["-c", VERIFY_WITH_PYJWT, tampered, publicKey, "#P_pyjwt", "PROVIDER"]),
    ).rejects.toThrow();
  });
});
