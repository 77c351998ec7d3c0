import { createHash, createPrivateKey, randomUUID, type KeyObject } from "node:crypto";

import { rsaJwkFromPkcs8, rsaSpkiFromJwk } from "../keys/rsa-der.js";
import { inlineRs256, type Rs256Signatures } from "./rs256-signatures.js";

/**
 * This folder is the only place that makes or checks JWTs: signing is pinned
 * here to RS256, the claims UCloud providers check, and a `kid` they can
 * match. Access tokens are assembled by hand rather than with jose's SignJWT:
 * the header and claims are fixed, so the only work left per token is one
 * JSON.stringify, two base64url encodings and the signature itself.
 */

/** SigningKey is a provider's private key ready to sign, with its RFC 7638 thumbprint. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The base64 SPKI of the matching public key, as retrievePublicKey returns it. */
  readonly publicKey: string;
  /** base64url of the protected header, which is the same for every token of this key. */
  readonly encodedHeader: string;
}

/**
 * importSigningKey parses a PKCS#8 DER RSA key once, so each signature skips
 * the parse. The key enters Node as a JWK, which skips OpenSSL's much slower
 * generic DER decoder; the public key and thumbprint come from the same
 * numbers.
 */
export async function importSigningKey(pkcs8: Buffer): Promise<SigningKey> {
  const jwk = rsaJwkFromPkcs8(pkcs8);
  const privateKey = createPrivateKey({ key: { ...jwk }, format: "jwk" });

  // RFC 7638: the required members of an RSA key, in lexicographic order.
  const thumbprintInput = JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n });
  const kid = createHash("sha256").update(thumbprintInput).digest("base64url");
  const publicKey = rsaSpkiFromJwk(jwk).toString("base64");
  const encodedHeader = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));

  return { kid, privateKey, publicKey, encodedHeader };
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
  constructor(
    private readonly policy: AccessTokenPolicy,
    private readonly signatures: Rs256Signatures = inlineRs256,
  ) {}

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

  private async sign(
    key: SigningKey,
    nowMs: number,
    claims: { sub: string; role: string; principalType: string },
  ): Promise<string> {
    const issuedAt = Math.floor(nowMs / 1000);
    // The member order is part of the token's bytes; it is the order these
    // tokens have always had: private claims first, then the registered ones.
    const payload = JSON.stringify({
      role: claims.role,
      principalType: claims.principalType,
      sub: claims.sub,
      iss: this.policy.issuer,
      aud: AUDIENCE,
      iat: issuedAt,
      exp: issuedAt + this.policy.lifetimeSeconds,
      jti: randomUUID(),
    });

    const signingInput = `${key.encodedHeader}.${base64url(payload)}`;
    const signature = await this.signatures.sign(key.privateKey, signingInput);
    return `${signingInput}.${signature.toString("base64url")}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
