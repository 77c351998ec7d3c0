import { createPublicKey, type KeyObject } from "node:crypto";

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from "jose";

import { DomainError } from "../domain/errors.js";

/** Caller is an authenticated service or administrator, from its bearer token. */
export interface Caller {
  subject: string;
  role: string;
}

/** TrustedCallerKeys are the keys a caller's token may be signed with. */
export interface TrustedCallerKeys {
  /** UCloud's RS256 key: base64 SPKI DER or a PEM public key. */
  publicKey?: string;
  /** A JSON Web Key Set of asymmetric keys. */
  jwks?: JSONWebKeySet;
  /** UCloud's development HS512 secret. */
  sharedSecret?: string;
}

export interface CallerTokenOptions {
  issuer: string;
  /** Allowed clock skew on `exp`, `iat` and `nbf`, at most 60 s. */
  clockToleranceSeconds: number;
  now: () => number;
}

// A bearer token is a few hundred bytes; anything far larger is not one.
const MAX_TOKEN_LENGTH = 8192;
// `kid` only ever selects a key from the configured set; anything else is odd.
const KID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
// Header parameters that point at keys or places outside our configuration.
const KEY_POINTING_HEADERS = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

type KeyInput = KeyObject | Uint8Array | ReturnType<typeof createLocalJWKSet>;

interface Verifier {
  algorithms: string[];
  key: KeyInput;
}

/**
 * CallerTokenVerifier checks service bearer tokens. Each trusted key is
 * pinned to the algorithms of its own type, so a token cannot choose how it
 * is checked (no `none`, no HMAC keyed with a public key); keys come only
 * from configuration, never from the token, and no network is used.
 */
export class CallerTokenVerifier {
  private readonly verifiers: Verifier[];

  constructor(
    keys: TrustedCallerKeys,
    private readonly options: CallerTokenOptions,
  ) {
    if (options.clockToleranceSeconds > 60) throw new Error("clock tolerance above 60 s");
    this.verifiers = buildVerifiers(keys);
    if (this.verifiers.length === 0) throw new Error("no trusted caller key is configured");
  }

  /** verify returns the caller of a valid token or throws UNAUTHENTICATED. */
  async verify(token: string): Promise<Caller> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw unauthenticated("malformed_token");
    }

    const alg = readCheckedAlgorithm(token);
    const candidates = this.verifiers.filter((v) => v.algorithms.includes(alg));
    if (candidates.length === 0) throw unauthenticated("algorithm_not_allowed");

    let payload: JWTPayload | undefined;
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        payload = await this.verifyWith(token, candidate);
        break;
      } catch (error) {
        if (!isWrongKey(error)) throw unauthenticated(reasonOf(error), error);
        lastError = error;
      }
    }
    if (payload === undefined) throw unauthenticated("bad_signature", lastError);

    const { sub, role } = payload;
    if (typeof sub !== "string" || sub === "" || typeof role !== "string") {
      throw unauthenticated("missing_subject_or_role");
    }
    return { subject: sub, role };
  }

  private async verifyWith(token: string, verifier: Verifier): Promise<JWTPayload> {
    const options = {
      algorithms: verifier.algorithms,
      issuer: this.options.issuer,
      clockTolerance: this.options.clockToleranceSeconds,
      currentDate: new Date(this.options.now()),
      requiredClaims: ["exp", "iat", "sub"],
    };
    const key = verifier.key;
    const result =
      typeof key === "function"
        ? await jwtVerify(token, key, options)
        : await jwtVerify(token, key, options);
    return result.payload;
  }
}

function buildVerifiers(keys: TrustedCallerKeys): Verifier[] {
  const verifiers: Verifier[] = [];

  if (keys.publicKey !== undefined) {
    verifiers.push({ algorithms: ["RS256"], key: parseRsaPublicKey(keys.publicKey) });
  }
  if (keys.jwks !== undefined) {
    verifiers.push({ algorithms: jwksAlgorithms(keys.jwks), key: createLocalJWKSet(keys.jwks) });
  }
  if (keys.sharedSecret !== undefined) {
    verifiers.push({ algorithms: ["HS512"], key: Buffer.from(keys.sharedSecret, "utf8") });
  }
  return verifiers;
}

/** parseRsaPublicKey reads UCloud's base64 SPKI DER or a PEM public key. */
export function parseRsaPublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith("-----BEGIN")
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "spki" });

  if (key.asymmetricKeyType !== "rsa") throw new Error("the caller public key is not an RSA key");
  return key;
}

function jwksAlgorithms(jwks: JSONWebKeySet): string[] {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new Error("the JWKS has no keys");
  }

  const algorithms = new Set<string>();
  for (const jwk of jwks.keys) {
    if (jwk.kty === "oct") {
      throw new Error("the JWKS holds a symmetric key; use the shared-secret setting for those");
    }
    algorithms.add(jwk.alg ?? defaultAlgorithm(jwk.kty, jwk.crv));
  }
  return [...algorithms];
}

function defaultAlgorithm(kty: string | undefined, crv: string | undefined): string {
  if (kty === "RSA") return "RS256";
  if (kty === "EC" && crv === "P-256") return "ES256";
  if (kty === "EC" && crv === "P-384") return "ES384";
  if (kty === "EC" && crv === "P-521") return "ES512";
  if (kty === "OKP") return "EdDSA";
  throw new Error(`the JWKS holds a key of unsupported type ${String(kty)}`);
}

function readCheckedAlgorithm(token: string): string {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw unauthenticated("malformed_token", error);
  }

  if (KEY_POINTING_HEADERS.some((name) => name in header)) {
    throw unauthenticated("key_in_header");
  }
  if (header.kid !== undefined && (typeof header.kid !== "string" || !KID_SHAPE.test(header.kid))) {
    throw unauthenticated("odd_kid");
  }
  if (typeof header.alg !== "string") throw unauthenticated("malformed_token");
  return header.alg;
}

function isWrongKey(error: unknown): boolean {
  return (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWKSNoMatchingKey
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token_expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `bad_claim_${error.claim}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  return "invalid_token";
}

function unauthenticated(reason: string, cause?: unknown): DomainError {
  return new DomainError(
    "unauthenticated",
    "the bearer token is missing, malformed, expired or not signed by a trusted key",
    { reason, cause },
  );
}
