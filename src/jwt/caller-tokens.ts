import { createPublicKey, type JsonWebKeyInput, type KeyObject } from "node:crypto";

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

// UCloud's service tokens live minutes; a day bounds any sane one, and jose
// then also refuses an `iat` in the future.
const MAX_TOKEN_AGE_SECONDS = 86_400;
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

    // A token valid for longer than any caller needs is a stolen token's
    // best friend; refuse it even if it is young.
    if (payload.exp! - payload.iat! > MAX_TOKEN_AGE_SECONDS) {
      throw unauthenticated("token_lifetime_too_long");
    }

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
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
    };
    const key = verifier.key;
    const result =
      typeof key === "function"
        ? await jwtVerify(token, key, options)
        : await jwtVerify(token, key, options);
    return result.payload;
  }
}

/** TrustedKeyError says which configured key source is unusable, and why. */
export class TrustedKeyError extends Error {
  constructor(
    readonly source: keyof TrustedCallerKeys,
    message: string,
  ) {
    super(message);
    this.name = "TrustedKeyError";
  }
}

/** checkTrustedCallerKeys throws a TrustedKeyError for the first unusable key source. */
export function checkTrustedCallerKeys(keys: TrustedCallerKeys): void {
  buildVerifiers(keys);
}

function buildVerifiers(keys: TrustedCallerKeys): Verifier[] {
  const verifiers: Verifier[] = [];

  if (keys.publicKey !== undefined) {
    const key = withSource("publicKey", () => parseRsaPublicKey(keys.publicKey!));
    verifiers.push({ algorithms: ["RS256"], key });
  }
  if (keys.jwks !== undefined) {
    const algorithms = withSource("jwks", () => jwksAlgorithms(keys.jwks!));
    verifiers.push({ algorithms, key: createLocalJWKSet(keys.jwks) });
  }
  if (keys.sharedSecret !== undefined) {
    verifiers.push({ algorithms: ["HS512"], key: Buffer.from(keys.sharedSecret, "utf8") });
  }
  return verifiers;
}

function withSource<T>(source: keyof TrustedCallerKeys, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new TrustedKeyError(source, error instanceof Error ? error.message : String(error));
  }
}

// Below this an RSA signature no longer protects anything worth protecting.
const MIN_RSA_BITS = 2048;

/** parseRsaPublicKey reads UCloud's base64 SPKI DER or a PEM public key. */
export function parseRsaPublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith("-----BEGIN")
      ? createPublicKey(trimmed)
      : createPublicKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "spki" });
  } catch {
    throw new Error("is neither base64 of an SPKI DER public key nor a PEM public key");
  }

  if (key.asymmetricKeyType !== "rsa") throw new Error("is not an RSA key (RS256 needs one)");
  checkRsaSize(key);
  return key;
}

function checkRsaSize(key: KeyObject): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new Error(`is an RSA key of ${bits} bits; use at least 2048`);
}

// What each asymmetric algorithm needs of a key: its type and, for EC, curve.
const ALGORITHM_KEYS: Readonly<Record<string, { kty: string; crv?: string }>> = {
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
};

function jwksAlgorithms(jwks: JSONWebKeySet): string[] {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error("has no keys");

  const algorithms = new Set<string>();
  jwks.keys.forEach((jwk, index) => {
    const where = `key ${index + 1}${jwk.kid === undefined ? "" : ` ("${jwk.kid}")`}`;
    if (jwk.kty === "oct") {
      throw new Error(`${where} is symmetric; use the shared-secret setting for HS512`);
    }

    const alg = jwk.alg ?? defaultAlgorithm(jwk.kty, jwk.crv);
    const needs = alg === undefined ? undefined : ALGORITHM_KEYS[alg];
    if (needs === undefined) throw new Error(`${where} has no usable asymmetric algorithm`);
    if (needs.kty !== jwk.kty || (needs.crv !== undefined && needs.crv !== jwk.crv)) {
      throw new Error(`${where} does not fit its algorithm ${alg}`);
    }

    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKeyInput["key"], format: "jwk" });
    } catch {
      throw new Error(`${where} is not a valid public key`);
    }
    if (jwk.kty === "RSA") checkRsaSize(key);
    algorithms.add(alg!);
  });
  return [...algorithms];
}

function defaultAlgorithm(kty: string | undefined, crv: string | undefined): string | undefined {
  return Object.entries(ALGORITHM_KEYS).find(
    ([, needs]) => needs.kty === kty && (needs.crv === undefined || needs.crv === crv),
  )?.[0];
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
