import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  FindByStringIdSchema,
  AuthProvidersRetrievePublicKeyResponseSchema as PublicKeySchema,
} from "../../gen/ucloud/auth/v1/models_pb.js";
import { loadConfig } from "../../src/config/config.js";
import {
  peerBinary,
  runPeer,
  startTestService,
  type TestService,
} from "../support/client-fixtures.js";

const run = promisify(execFile);

interface Pems {
  dir: string;
  serverCert: string;
  serverKey: string;
  otherKey: string;
  clientCa: string;
  clientCert: string;
  clientKey: string;
}

let pems: Pems;
let files: Record<keyof Omit<Pems, "dir">, string>;

// A server certificate for 127.0.0.1, signed by itself, and a client CA with
// one client certificate; EC keys, because RSA prime searches are slow.
async function makeCertificates(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "provider-auth-tls-"));
  const path = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

  await run("openssl", [
    ...["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=127.0.0.1"],
    ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", path("server.key")],
    ...["-out", path("server.pem")],
  ]);
  await run("openssl", [
    "genpkey",
    "-algorithm",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
  ]).then(({ stdout }) => writeFile(path("other.key"), stdout));
  await run("openssl", [
    ...["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=test client CA"],
    ...["-keyout", path("client-ca.key"), "-out", path("client-ca.pem")],
  ]);
  await run("openssl", [
    ...["req", ...ec, "-subj", "/CN=test client", "-keyout", path("client.key")],
    ...["-out", path("client.csr")],
  ]);
  await writeFile(path("client.ext"), "extendedKeyUsage=clientAuth\n");
  await run("openssl", [
    ...["x509", "-req", "-in", path("client.csr"), "-CA", path("client-ca.pem")],
    ...["-CAkey", path("client-ca.key"), "-CAcreateserial", "-days", "1"],
    ...["-extfile", path("client.ext"), "-out", path("client.pem")],
  ]);

  files = {
    serverCert: path("server.pem"),
    serverKey: path("server.key"),
    otherKey: path("other.key"),
    clientCa: path("client-ca.pem"),
    clientCert: path("client.pem"),
    clientKey: path("client.key"),
  };
  const read = (file: string) => readFile(file, "utf8");
  pems = {
    dir,
    serverCert: await read(files.serverCert),
    serverKey: await read(files.serverKey),
    otherKey: await read(files.otherKey),
    clientCa: await read(files.clientCa),
    clientCert: await read(files.clientCert),
    clientKey: await read(files.clientKey),
  };
}

let tlsOnly: TestService;
let mutual: TestService;

beforeAll(async () => {
  await makeCertificates();
  const tlsEnv = {
    PROVIDER_AUTH_TLS_CERT_FILE: files.serverCert,
    PROVIDER_AUTH_TLS_KEY_FILE: files.serverKey,
  };
  tlsOnly = await startTestService(tlsEnv);
  mutual = await startTestService({ ...tlsEnv, PROVIDER_AUTH_TLS_CLIENT_CA_FILE: files.clientCa });
});

afterAll(async () => {
  await tlsOnly?.close();
  await mutual?.close();
  if (pems !== undefined) await rm(pems.dir, { recursive: true, force: true });
});

interface JsonAnswer {
  status: number;
  alpn: string | false | null;
  body: unknown;
}

// HTTP/1.1 over TLS, with the test CA trusted and ALPN offering only http/1.1.
function httpsJson(
  target: TestService,
  path: string,
  body: object,
  client?: { cert: string; key: string },
): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      `${target.service.url}${path}`,
      {
        method: "POST",
        // A fresh agent per call: TLS sessions are not reused across tests.
        agent: new https.Agent({ ca: pems.serverCert, ALPNProtocols: ["http/1.1"], ...client }),
        // No SNI: the server is addressed by IP, which SNI cannot carry.
        servername: "",
        headers: { "content-type": "application/json", authorization: `Bearer ${target.token}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            alpn: (response.socket as TLSSocket).alpnProtocol,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(JSON.stringify(body));
  });
}

function grpcClient(target: TestService, client?: { cert: string; key: string }): grpc.Client {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(pems.serverCert),
    client === undefined ? null : Buffer.from(client.key),
    client === undefined ? null : Buffer.from(client.cert),
  );
  // grpc-js would send the IP address as SNI, which TLS does not allow;
  // the certificate names localhost as well.
  return new grpc.Client(target.address, credentials, {
    "grpc.ssl_target_name_override": "localhost",
  });
}

function healthCheck(client: grpc.Client): Promise<Status> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (message: { service: string }) =>
        Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, message))),
      (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
      { service: "" },
      { deadline: Date.now() + 10_000 },
      (error, answer) =>
        error !== null || answer === undefined ? reject(error) : resolve(answer.status),
    );
  });
}

function retrievePublicKey(client: grpc.Client, token: string, id: string): Promise<string> {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/ucloud.auth.v1.AuthProvidersService/RetrievePublicKey",
      (message: { id: string }) =>
        Buffer.from(toBinary(FindByStringIdSchema, create(FindByStringIdSchema, message))),
      (bytes: Buffer) => fromBinary(PublicKeySchema, bytes),
      { id },
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, answer) =>
        error !== null || answer === undefined ? reject(error) : resolve(answer.publicKey),
    );
  });
}

describe("TLS on the one port", { timeout: 60_000 }, () => {
  test("HTTP/1.1 (https) and HTTP/2 (grpc-js) both work, chosen by ALPN", async () => {
    expect(tlsOnly.service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const registered = await httpsJson(tlsOnly, "/auth/providers", { items: [{ id: "tls-site" }] });
    expect(registered.status).toBe(200);
    expect(registered.alpn).toBe("http/1.1");

    const claimToken = (registered.body as { responses: Array<{ claimToken: string }> })
      .responses[0]!.claimToken;
    const claimed = await httpsJson(tlsOnly, "/auth/providers/claim", { items: [{ claimToken }] });
    const publicKey = (claimed.body as { responses: Array<{ publicKey: string }> }).responses[0]!
      .publicKey;

    const client = grpcClient(tlsOnly);
    try {
      expect(await healthCheck(client)).toBe(Status.SERVING);
      expect(await retrievePublicKey(client, tlsOnly.token, "tls-site")).toBe(publicKey);
    } finally {
      client.close();
    }
  });

  test("grpc_health_probe over TLS", async (context) => {
    const probe = peerBinary(context, "grpc-health-probe");
    const answer = await runPeer(probe, [
      ...["-addr", tlsOnly.address, "-tls", "-tls-ca-cert", files.serverCert],
    ]);
    expect(answer.stdout + answer.stderr).toContain("status: SERVING");
    expect(answer.code).toBe(0);
  });

  test("with a client CA, only clients with a certificate it signed get in", async () => {
    const client = { cert: pems.clientCert, key: pems.clientKey };

    const withCert = grpcClient(mutual, client);
    try {
      expect(await healthCheck(withCert)).toBe(Status.SERVING);
    } finally {
      withCert.close();
    }
    const answer = await httpsJson(mutual, "/auth/providers/generateKeyPair", {}, client);
    expect(answer.status).toBe(200);

    const withoutCert = grpcClient(mutual);
    try {
      await expect(healthCheck(withoutCert)).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      withoutCert.close();
    }
    await expect(httpsJson(mutual, "/auth/providers/generateKeyPair", {})).rejects.toThrow();
  });
});

describe("TLS configuration errors name the variable", () => {
  test.each([
    [{ PROVIDER_AUTH_TLS_CERT_FILE: "cert" }, /PROVIDER_AUTH_TLS_KEY_FILE/],
    [{ PROVIDER_AUTH_TLS_KEY_FILE: "key" }, /PROVIDER_AUTH_TLS_CERT_FILE/],
    [{ PROVIDER_AUTH_TLS_CLIENT_CA_FILE: "ca" }, /PROVIDER_AUTH_TLS_CLIENT_CA_FILE needs TLS/],
  ])("%o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("unreadable, unparsable and mismatched files", () => {
    const base = {
      PROVIDER_AUTH_TLS_CERT_FILE: files.serverCert,
      PROVIDER_AUTH_TLS_KEY_FILE: files.serverKey,
    };
    expect(() =>
      loadConfig({ ...base, PROVIDER_AUTH_TLS_CERT_FILE: join(pems.dir, "missing.pem") }),
    ).toThrow(/PROVIDER_AUTH_TLS_CERT_FILE ".*missing.pem" cannot be read \(ENOENT\)/);
    expect(() => loadConfig({ ...base, PROVIDER_AUTH_TLS_CERT_FILE: files.serverKey })).toThrow(
      /PROVIDER_AUTH_TLS_CERT_FILE .* does not hold a PEM certificate/,
    );
    expect(() => loadConfig({ ...base, PROVIDER_AUTH_TLS_KEY_FILE: files.otherKey })).toThrow(
      /PROVIDER_AUTH_TLS_KEY_FILE .* is not the key of PROVIDER_AUTH_TLS_CERT_FILE/,
    );
    expect(() =>
      loadConfig({ ...base, PROVIDER_AUTH_TLS_CLIENT_CA_FILE: files.serverKey }),
    ).toThrow(/PROVIDER_AUTH_TLS_CLIENT_CA_FILE .* does not hold PEM CA certificates/);
  });
});
