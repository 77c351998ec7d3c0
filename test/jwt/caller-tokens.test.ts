import { createHmac, generateKeyPairSync } from "node:crypto";

import { exportJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";

import { DomainError } from "../../src/domain/errors.js";
import { CallerTokenVerifier } from "../../src/jwt/caller-tokens.js";
import { newCallerKey, signCallerToken } from "../support/caller-tokens.js";

const options = { issuer: "cloud.sdu.dk", clockToleranceSeconds: 30, now: () => Date.now() };
const base64url = (value: object | string) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

function hand(header: object, payload: object, sign: (input: string) => string): string {
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${sign(input)}`;
}

const goodClaims = () => ({
  sub: "_ucloud",
  role: "SERVICE",
  iss: "cloud.sdu.dk",
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 600,
});

async function reason(verifier: CallerTokenVerifier, token: string): Promise<string> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error("the token was expected to be refused");
  expect(error.code).toBe("unauthenticated");
  return error.reason ?? "";
}

describe("caller tokens", () => {
  const rsa = newCallerKey();
  const verifier = new CallerTokenVerifier({ publicKey: rsa.publicKeySpki }, options);

  it("accepts a token signed with the trusted key", async () => {
    expect(await verifier.verify(await signCallerToken(rsa))).toEqual({
      subject: "_ucloud",
      role: "SERVICE",
    });
  });

  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s", async (alg) => {
    const token = hand({ alg, typ: "JWT" }, goodClaims(), () => "");
    expect(await reason(verifier, token)).toBe("algorithm_not_allowed");
  });

  it.each([
    ["DER", Buffer.from(rsa.publicKeySpki, "base64")],
    ["base64 text", Buffer.from(rsa.publicKeySpki)],
    [
      "PEM",
      Buffer.from(
        `-----BEGIN PUBLIC KEY-----\n${rsa.publicKeySpki.match(/.{1,64}/g)!.join("\n")}\n` +
          "-----END PUBLIC KEY-----\n",
      ),
    ],
  ])("refuses HS256 keyed with the RSA public key as %s", async (_form, secret) => {
    const token = hand({ alg: "HS256", typ: "JWT" }, goodClaims(), (input) =>
      createHmac("sha256", secret).update(input).digest("base64url"),
    );
    expect(await reason(verifier, token)).toBe("algorithm_not_allowed");
  });

  it.each(["jwk", "jku", "x5u", "x5c"])("refuses a token that carries %s", async (name) => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const header = { alg: "RS256", [name]: name === "jwk" ? await exportJWK(publicKey) : "x" };
    const token = await new SignJWT(goodClaims()).setProtectedHeader(header).sign(privateKey);
    expect(await reason(verifier, token)).toBe("key_in_header");
  });

  it.each(["../../etc/passwd", "a".repeat(200), "' OR 1=1 --"])("refuses kid %j", async (kid) => {
    const token = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: "RS256", kid })
      .sign(rsa.privateKey);
    expect(await reason(verifier, token)).toBe("odd_kid");
  });

  it.each([
    ["expired", { exp: Math.floor(Date.now() / 1000) - 120 }, "token_expired"],
    ["not yet valid", { nbf: Math.floor(Date.now() / 1000) + 600 }, "bad_claim_nbf"],
    ["of another issuer", { iss: "elsewhere" }, "bad_claim_iss"],
    ["without exp", { exp: undefined }, "bad_claim_exp"],
    ["issued in the future", { iat: Math.floor(Date.now() / 1000) + 3600 }, "bad_claim_iat"],
    ["issued before the epoch", { iat: -5 }, "token_expired"],
    ["valid for ever", { exp: 1e15 }, "token_lifetime_too_long"],
  ])("refuses a token %s", async (_name, change, expected) => {
    const token = await new SignJWT({ ...goodClaims(), ...change })
      .setProtectedHeader({ alg: "RS256" })
      .sign(rsa.privateKey);
    expect(await reason(verifier, token)).toBe(expected);
  });

  it("pins HS512 to the shared secret and refuses HS256 with the same secret", async () => {
    const secret = "a-development-secret-of-at-least-32-bytes";
    const shared = new CallerTokenVerifier({ sharedSecret: secret }, options);
    const sign = (alg: string) =>
      new SignJWT(goodClaims()).setProtectedHeader({ alg }).sign(Buffer.from(secret));

    expect((await shared.verify(await sign("HS512"))).subject).toBe("_ucloud");
    expect(await reason(shared, await sign("HS256"))).toBe("algorithm_not_allowed");
  });

  it("verifies with the matching key of a JWKS", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...(await exportJWK(publicKey)), kid: "core-1", alg: "ES256" };
    const withJwks = new CallerTokenVerifier({ jwks: { keys: [jwk] } }, options);
    const token = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: "ES256", kid: "core-1" })
      .sign(privateKey);

    expect((await withJwks.verify(token)).role).toBe("SERVICE");
    expect(await reason(withJwks, await signCallerToken(rsa))).toBe("algorithm_not_allowed");
  });
});
