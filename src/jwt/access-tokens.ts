import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from "node:crypto";

import { calculateJwkThumbprint, exportJWK, SignJWT } from "jose";

/**
 * This folder is the only place that touches `jose`: signing is pinned here
 * to RS256, the claims UCloud providers check, and a `kid` they can match.
 */

/** SigningKey is a provider's private key ready to sign, with its RFC 7638 thumbprint. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The base64 SPKI of the matching public key, as retrievePublicKey returns it. */
  readonly publicKey: string;
}

/** importSigningKey parses a PKCS#8 DER key once, so each signature skips the parse. */
export async function importSigningKey(pkcs8: Buffer): Promise<SigningKey> {
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const publicKeyObject = createPublicKey(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKeyObject), "sha256");
  const publicKey = publicKeyObject.export({ type: "spki", format: "der" }).toString("base64");

  return { kid, privateKey, publicKey };
}

/** AccessTokenPolicy is what every issued token shares. */
export interface AccessTokenPolicy {
  issuer: string;
  lifetimeSeconds: number;
}

// UCloud's audience for tokens that may act on everything the subject may.
const AUDIENCE = ["all:write"];

/** The subject UCloud providers expect on a token that comes from the core. */
export const ORCHESTRATOR_SUBJECT = "_UCloud";

/**
 * AccessTokenSigner issues the two kinds of token: provider tokens (a
 * provider acting for itself, from refresh) and orchestrator tokens (UCloud
 * acting towards a provider, from refreshAsOrchestrator).
 */
export class AccessTokenSigner {
  constructor(private readonly policy: AccessTokenPolicy) {}

  /** signProviderToken signs a token whose subject is the provider itself. */
  signProviderToken(key: SigningKey, providerId: string, nowMs: number): Promise<string> {
    return this.sign(key, nowMs, {
      sub: `#P_${providerId}`,
      role: "PROVIDER",
      principalType: "provider",
    });
  }

  /** signOrchestratorToken signs a token that tells the provider the call comes from UCloud. */
  signOrchestratorToken(key: SigningKey, nowMs: number): Promise<string> {
    return this.sign(key, nowMs, {
      sub: ORCHESTRATOR_SUBJECT,
      role: "SERVICE",
      principalType: "service",
    });
  }

  private sign(
    key: SigningKey,
    nowMs: number,
    claims: { sub: string; role: string; principalType: string },
  ): Promise<string> {
    const issuedAt = Math.floor(nowMs / 1000);

    return new SignJWT({ role: claims.role, principalType: claims.principalType })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
      .setSubject(claims.sub)
      .setIssuer(this.policy.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.policy.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }
}
