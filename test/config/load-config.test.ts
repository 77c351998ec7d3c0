import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { loadConfig } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/env-readers.js";

const MASTER_KEY = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
const ED25519_PEM = generateKeyPairSync("ed25519")
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();

function jwksFile(keys: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), "provider-auth-config-"));
  const file = join(dir, "jwks.json");
  writeFileSync(file, JSON.stringify({ keys }));
  return file;
}

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("the configuration was expected to be refused");
}

describe("configuration", () => {
  it("defaults to the embedded mode on 127.0.0.1:8080 with UCloud's values", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      mongodb: undefined,
      callerKeys: undefined,
      masterKeys: undefined,
      issuer: "cloud.sdu.dk",
      callerIssuer: "cloud.sdu.dk",
      accessTokenTtlSeconds: 600,
      claimRetryWindowSeconds: 300,
      claimTokenTtlSeconds: 604_800,
    });
    expect(config.orchestrators).toEqual([
      "_ucloud",
      "_app-orchestrator",
      "_file-orchestrator",
      "_storage",
      "_accounting",
    ]);
  });

  it.each([
    [{ PROVIDER_AUTH_PORT: "eighty" }, "PROVIDER_AUTH_PORT"],
    [{ PROVIDER_AUTH_PORT: "70000" }, "PROVIDER_AUTH_PORT"],
    [{ PROVIDER_AUTH_ACCESS_TOKEN_TTL_SECONDS: "-5" }, "PROVIDER_AUTH_ACCESS_TOKEN_TTL_SECONDS"],
    [{ PROVIDER_AUTH_ORCHESTRATORS: "_ucloud,,_storage" }, "PROVIDER_AUTH_ORCHESTRATORS"],
    [{ PROVIDER_AUTH_LOG_LEVEL: "loud" }, "PROVIDER_AUTH_LOG_LEVEL"],
    [{ PROVIDER_AUTH_MASTER_KEYS: "k1:c2hvcnQ=" }, "PROVIDER_AUTH_MASTER_KEYS"],
    [{ PROVIDER_AUTH_CALLER_SHARED_SECRET: "too-short" }, "PROVIDER_AUTH_CALLER_SHARED_SECRET"],
    [{ PROVIDER_AUTH_CALLER_JWKS_FILE: "/nonexistent.json" }, "PROVIDER_AUTH_CALLER_JWKS_FILE"],
    [{ PROVIDER_AUTH_MONGODB_URI: "postgres://x" }, "PROVIDER_AUTH_MONGODB_URI"],
    [{ PROVIDER_AUTH_CALLER_PUBLIC_KEY: "garbage" }, "PROVIDER_AUTH_CALLER_PUBLIC_KEY"],
    [{ PROVIDER_AUTH_CALLER_PUBLIC_KEY: ED25519_PEM }, "PROVIDER_AUTH_CALLER_PUBLIC_KEY"],
    [{ PROVIDER_AUTH_MASTER_KEYS: `${MASTER_KEY}!!!` }, "PROVIDER_AUTH_MASTER_KEYS"],
  ])("refuses %j, naming the variable", (env, variable) => {
    expect(configError(env)).toContain(variable);
  });

  it("never echoes a rejected master key", () => {
    const secret = Buffer.alloc(31, 9).toString("base64");
    expect(configError({ PROVIDER_AUTH_MASTER_KEYS: `k1:${secret}` })).not.toContain(secret);
  });

  it("refuses a database without a master key or caller key, naming both", () => {
    const message = configError({ PROVIDER_AUTH_MONGODB_URI: "mongodb://127.0.0.1:1/" });
    expect(message).toContain("PROVIDER_AUTH_MASTER_KEYS");
    expect(message).toContain("PROVIDER_AUTH_CALLER_PUBLIC_KEY");
  });

  it("takes MONGODB_URI as the fallback connection string", () => {
    const config = loadConfig({
      MONGODB_URI: "mongodb://127.0.0.1:27017/",
      PROVIDER_AUTH_MASTER_KEYS: MASTER_KEY,
      PROVIDER_AUTH_CALLER_SHARED_SECRET: "x".repeat(32),
    });
    expect(config.mongodb).toMatchObject({
      uri: "mongodb://127.0.0.1:27017/",
      database: "provider_auth",
    });
  });

  it("reads a JWKS file of caller keys", () => {
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      format: "jwk",
    });
    const config = loadConfig({ PROVIDER_AUTH_CALLER_JWKS_FILE: jwksFile([jwk]) });
    expect(config.callerKeys?.jwks?.keys).toHaveLength(1);
  });

  it.each([
    ["a symmetric key", { kty: "oct", k: "c2VjcmV0" }],
    ["alg none", { ...rsaJwk(), alg: "none" }],
    ["alg HS256 on an RSA key", { ...rsaJwk(), alg: "HS256" }],
    ["an EC key claiming RS256", { kty: "EC", crv: "P-256", x: "a", y: "b", alg: "RS256" }],
    ["broken EC coordinates", { kty: "EC", crv: "P-256", x: "a", y: "b" }],
    ["a 1024-bit RSA key", rsaJwk(1024)],
  ])("refuses a JWKS holding %s, naming the variable", (_name, jwk) => {
    expect(configError({ PROVIDER_AUTH_CALLER_JWKS_FILE: jwksFile([jwk]) })).toContain(
      "PROVIDER_AUTH_CALLER_JWKS_FILE",
    );
  });
});

function rsaJwk(bits = 2048): object {
  return generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
}
