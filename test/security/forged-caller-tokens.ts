import { createHmac, generateKeyPairSync, type KeyObject } from "node:crypto";

import { exportJWK, SignJWT, type JWK, type JWTHeaderParameters } from "jose";

import type { TestCallerKey } from "../support/caller-tokens.js";
import { rememberSecret } from "../support/secret-ledger.js";

type Claims = Record<string, unknown>;

const now = () => Math.floor(Date.now() / 1000);

/** serviceClaims are the claims of a valid service token of `_ucloud`. */
export function serviceClaims(change: Claims = {}): Claims {
  const issuedAt = now();
  const claims: Claims = {
    sub: "_ucloud",
    role: "SERVICE",
    principalType: "service",
    iss: "cloud.sdu.dk",
    iat: issuedAt,
    exp: issuedAt + 600,
    ...change,
  };
  for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
  return claims;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** handBuilt assembles a compact JWS by hand, with whatever header and signature. */
export function handBuilt(header: object, claims: Claims, sign: (input: string) => string) {
  const input = `${base64url(header)}.${base64url(claims)}`;
  return `${input}.${sign(input)}`;
}

/** signed signs `claims` under `header` with a private key, as jose does it. */
export function signed(key: KeyObject, header: JWTHeaderParameters, claims: Claims) {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

function pemOf(spkiBase64: string): string {
  const lines = spkiBase64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/** AttackerKey is a key pair of the attacker's and its public JWK. */
export interface AttackerKey {
  privateKey: KeyObject;
  jwk: JWK;
}

/** attackerKey is a key pair the service has never heard of, and its public JWK. */
export async function attackerKey(): Promise<AttackerKey> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(publicKey)), kid: "attacker", alg: "RS256", use: "sig" };
  return { privateKey, jwk };
}

/** ForgeContext is what forging needs: the trusted key, an attacker's, and a URL to point at. */
export interface ForgeContext {
  trusted: TestCallerKey;
  attacker: AttackerKey;
  keyServerUrl: string;
}

/** ForgedToken names a bearer token the service must refuse, and builds it. */
export interface ForgedToken {
  name: string;
  build(context: ForgeContext): Promise<string>;
}

const RS256 = { alg: "RS256", typ: "JWT" };

function unsigned(alg: string): ForgedToken {
  return {
    name: `alg ${alg}`,
    build: async () => handBuilt({ alg, typ: "JWT" }, serviceClaims(), () => ""),
  };
}

function hmacWithPublicKey(form: string, secret: (spki: string) => Buffer): ForgedToken {
  return {
    name: `HS256 keyed with the trusted public key as ${form}`,
    build: async ({ trusted }) =>
      handBuilt({ alg: "HS256", typ: "JWT" }, serviceClaims(), (input) =>
        createHmac("sha256", secret(trusted.publicKeySpki)).update(input).digest("base64url"),
      ),
  };
}

function pointingAtKey(name: string, header: (c: ForgeContext) => JWTHeaderParameters) {
  return {
    name: `a token carrying ${name} of the attacker's key`,
    build: (c: ForgeContext) => signed(c.attacker.privateKey, header(c), serviceClaims()),
  };
}

function trustedWith(name: string, change: () => Claims, kid?: string): ForgedToken {
  return {
    name,
    build: ({ trusted }) => signed(trusted.privateKey, { ...RS256, kid }, serviceClaims(change())),
  };
}

/**
 * FORGED_TOKENS are the bearer tokens an attacker would try, each of which
 * the service must answer with UNAUTHENTICATED: unsigned ones, HMACs keyed
 * with the trusted public key, tokens that bring or point at their own key,
 * odd `kid`s, and tokens signed with the trusted key whose claims are wrong.
 */
export const FORGED_TOKENS: readonly ForgedToken[] = [
  ...["none", "None", "NONE", "nOnE"].map(unsigned),
  hmacWithPublicKey("DER", (spki) => Buffer.from(spki, "base64")),
  hmacWithPublicKey("PEM", (spki) => Buffer.from(pemOf(spki))),
  hmacWithPublicKey("base64 text", (spki) => Buffer.from(spki)),
  pointingAtKey("an embedded jwk", (c) => ({ ...RS256, jwk: c.attacker.jwk })),
  pointingAtKey("a jku", (c) => ({ ...RS256, kid: "attacker", jku: `${c.keyServerUrl}/jwks` })),
  pointingAtKey("an x5u", (c) => ({ ...RS256, kid: "attacker", x5u: `${c.keyServerUrl}/x5u` })),
  trustedWith("kid ../../x", () => ({}), "../../x"),
  trustedWith("a kid of 200 characters", () => ({}), "k".repeat(200)),
  trustedWith("an expired token", () => ({ iat: now() - 720, exp: now() - 120 })),
  trustedWith("a token not yet valid (nbf ahead)", () => ({ nbf: now() + 600 })),
  trustedWith("a token issued in the future", () => ({ iat: now() + 3600, exp: now() + 4200 })),
  trustedWith("a token of another issuer", () => ({ iss: "cloud.sdu.dk.elsewhere" })),
  trustedWith("a token without exp", () => ({ exp: undefined })),
  {
    name: "a token signed by a key nobody trusts",
    build: ({ attacker }) => signed(attacker.privateKey, RS256, serviceClaims()),
  },
];

/** forge builds one forged token and remembers it for the log scans. */
export async function forge(forged: ForgedToken, context: ForgeContext): Promise<string> {
  const token = await forged.build(context);
  rememberSecret(token);
  return token;
}
