import { createPublicKey } from "node:crypto";

import { calculateJwkThumbprint, exportJWK, jwtVerify, type JWTPayload } from "jose";

/** The claims UCloud's published rules say a provider must check, per kind of token. */
export const EXPECTED_CLAIMS = {
  provider: (providerId: string) => ({
    sub: `#P_${providerId}`,
    role: "PROVIDER",
    principalType: "provider",
  }),
  orchestrator: () => ({ sub: "_UCloud", role: "SERVICE", principalType: "service" }),
};

/**
 * verifyAsProvider checks an issued access token the way a UCloud provider
 * does, with only the public key that retrievePublicKey returned: RS256 and
 * nothing else, the issuer, the subject and role, iat and exp valid now.
 */
export async function verifyAsProvider(
  token: string,
  publicKeySpki: string,
  expected: { sub: string; role: string; principalType: string },
  options: { issuer?: string; lifetimeSeconds?: number; nowMs?: number } = {},
): Promise<JWTPayload> {
  const key = createPublicKey({
    key: Buffer.from(publicKeySpki, "base64"),
    format: "der",
    type: "spki",
  });

  const { payload, protectedHeader } = await jwtVerify(token, key, {
    algorithms: ["RS256"],
    issuer: options.issuer ?? "cloud.sdu.dk",
    audience: "all:write",
    subject: expected.sub,
    requiredClaims: ["iat", "exp", "jti"],
    currentDate: new Date(options.nowMs ?? Date.now()),
  });

  const problems: string[] = [];
  if (protectedHeader.typ !== "JWT") problems.push(`typ ${protectedHeader.typ}`);
  const kid = await calculateJwkThumbprint(await exportJWK(key), "sha256");
  if (protectedHeader.kid !== kid) problems.push("kid is not the key's RFC 7638 thumbprint");
  if (payload.role !== expected.role) problems.push(`role ${String(payload.role)}`);
  if (payload.principalType !== expected.principalType) problems.push("principalType");
  if (JSON.stringify(payload.aud) !== JSON.stringify(["all:write"])) problems.push("aud");
  const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
  if (lifetime !== (options.lifetimeSeconds ?? 600)) problems.push(`lifetime ${lifetime}`);
  const now = (options.nowMs ?? Date.now()) / 1000;
  if ((payload.iat ?? Infinity) > now + 1) problems.push("iat in the future");

  if (problems.length > 0)
    throw new Error(`token breaks the provider rules: ${problems.join(", ")}`);
  return payload;
}
