import { createPublicKey, type KeyObject } from "node:crypto";

import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AccessTokenSigner,
  importSigningKey,
  ORCHESTRATOR_SUBJECT,
  type SigningKey,
} from "../../src/jwt/access-tokens.js";
import { inlineRs256, Rs256WorkerPool } from "../../src/jwt/rs256-signatures.js";
import { generateRsaKeyPair, type RsaKeyPair } from "../../src/keys/rsa-key-pair.js";

const ISSUER = "cloud.sdu.dk";
const LIFETIME_SECONDS = 600;
const NOW_MS = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const NOW_SECONDS = Math.floor(NOW_MS / 1000);

let pair: RsaKeyPair;
let spki: KeyObject;
let key: SigningKey;
const pool = new Rs256WorkerPool({ threads: 2, keysPerThread: 2 });

beforeAll(async () => {
  pair = await generateRsaKeyPair();
  spki = createPublicKey({
    key: Buffer.from(pair.publicKey, "base64"),
    format: "der",
    type: "spki",
  });
  key = await importSigningKey(Buffer.from(pair.privateKeyPkcs8));
});

afterAll(() => pool.close());

const verify = (token: string) =>
  jwtVerify(token, spki, {
    algorithms: ["RS256"],
    issuer: ISSUER,
    audience: "all:write",
    currentDate: new Date(NOW_MS),
  });

describe("importSigningKey", () => {
  it("derives the SPKI the provider was given and the RFC 7638 thumbprint as kid", async () => {
    expect(key.publicKey).toBe(pair.publicKey);
    expect(key.kid).toBe(await calculateJwkThumbprint(await exportJWK(spki), "sha256"));
    expect(key.privateKey.asymmetricKeyType).toBe("rsa");
  });

  it("rejects a key that is not RSA PKCS#8", async () => {
    await expect(importSigningKey(Buffer.from("3003020100", "hex"))).rejects.toThrow();
  });
});

describe.each([
  ["on the calling thread", inlineRs256],
  ["on worker threads", pool],
])("AccessTokenSigner signing %s", (_name, signatures) => {
  const signer = new AccessTokenSigner(
    { issuer: ISSUER, lifetimeSeconds: LIFETIME_SECONDS },
    signatures,
  );

  it("signs provider tokens that verify as RS256 with the provider's claims", async () => {
    const token = await signer.signProviderToken(key, "hippo", NOW_MS);
    const { payload, protectedHeader } = await verify(token);

    expect(protectedHeader).toEqual({ alg: "RS256", typ: "JWT", kid: key.kid });
    expect(payload).toMatchObject({
      sub: "#P_hippo",
      role: "PROVIDER",
      principalType: "provider",
      iss: ISSUER,
      aud: ["all:write"],
      iat: NOW_SECONDS,
      exp: NOW_SECONDS + LIFETIME_SECONDS,
    });
    expect(payload.jti).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("signs orchestrator tokens with UCloud's subject and the service role", async () => {
    const token = await signer.signOrchestratorToken(key, NOW_MS);
    const { payload } = await verify(token);

    expect(payload).toMatchObject({
      sub: ORCHESTRATOR_SUBJECT,
      role: "SERVICE",
      principalType: "service",
      iat: NOW_SECONDS,
      exp: NOW_SECONDS + LIFETIME_SECONDS,
    });
  });

  it("gives every token its own jti", async () => {
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => signer.signProviderToken(key, "hippo", NOW_MS)),
    );
    const ids = await Promise.all(tokens.map(async (t) => (await verify(t)).payload.jti));
    expect(new Set(ids).size).toBe(tokens.length);
  });

  it("is accepted for RS256 only", async () => {
    const token = await signer.signProviderToken(key, "hippo", NOW_MS);
    expect(decodeProtectedHeader(token).alg).toBe("RS256");
    await expect(
      jwtVerify(token, spki, { algorithms: ["PS256"], currentDate: new Date(NOW_MS) }),
    ).rejects.toThrow();
  });

  it("produces byte for byte the token jose's SignJWT makes from the same claims", async () => {
    const token = await signer.signProviderToken(key, "hippo", NOW_MS);
    const { payload } = await verify(token);
    // RSASSA-PKCS1-v1_5 is deterministic, so equal input means an equal token.
    expect(token).toBe(await joseToken(key, payload));
  });
});

describe("Rs256WorkerPool", () => {
  it("signs with more keys than a thread keeps, and refuses work after close", async () => {
    const keys = await Promise.all(
      Array.from({ length: 3 }, async () =>
        importSigningKey((await generateRsaKeyPair()).privateKeyPkcs8),
      ),
    );
    const small = new Rs256WorkerPool({ threads: 1, keysPerThread: 1 });
    for (const round of [0, 1]) {
      for (const k of keys) {
        const input = `input-${round}`;
        expect(await small.sign(k.privateKey, input)).toEqual(
          await inlineRs256.sign(k.privateKey, input),
        );
      }
    }
    await small.close();
    await expect(small.sign(keys[0]!.privateKey, "late")).rejects.toThrow(/closed/);
  });
});

function joseToken(signingKey: SigningKey, payload: JWTPayload): Promise<string> {
  return new SignJWT({ role: payload["role"], principalType: payload["principalType"] })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: signingKey.kid })
    .setSubject(payload.sub!)
    .setIssuer(payload.iss!)
    .setAudience(payload.aud!)
    .setIssuedAt(payload.iat!)
    .setExpirationTime(payload.exp!)
    .setJti(payload.jti!)
    .sign(signingKey.privateKey);
}
