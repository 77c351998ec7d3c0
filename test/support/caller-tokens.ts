import { generateKeyPairSync, type KeyObject } from "node:crypto";

import { SignJWT } from "jose";

import { rememberSecret } from "./secret-ledger.js";

/** TestCallerKey is a caller signing key the tests trust the service with. */
export interface TestCallerKey {
  privateKey: KeyObject;
  /** base64 SPKI, the form PROVIDER_AUTH_CALLER_PUBLIC_KEY takes. */
  publicKeySpki: string;
}

/** newCallerKey makes an RSA key pair for signing caller tokens in tests. */
export function newCallerKey(): TestCallerKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey,
    publicKeySpki: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
  };
}

export interface CallerClaims {
  sub?: string;
  role?: string;
  iss?: string;
  /** Seconds relative to now. */
  expiresIn?: number;
  issuedAgo?: number;
}

/** signCallerToken signs a caller token as UCloud's core would, with claims a test may bend. */
export async function signCallerToken(
  key: TestCallerKey,
  claims: CallerClaims = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ role: claims.role ?? "SERVICE", principalType: "service" })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setSubject(claims.sub ?? "_ucloud")
    .setIssuer(claims.iss ?? "cloud.sdu.dk")
    .setIssuedAt(now - (claims.issuedAgo ?? 0))
    .setExpirationTime(now + (claims.expiresIn ?? 600))
    .sign(key.privateKey);
  rememberSecret(token);
  return token;
}
