import { generateKeyPairSync } from "node:crypto";

import { SignJWT } from "jose";

/** DevelopmentCaller is a generated caller key and a token signed with it. */
export interface DevelopmentCaller {
  /** base64 SPKI of the generated key, to trust it like UCloud's own. */
  publicKey: string;
  token: string;
}

/**
 * createDevelopmentCaller makes the key and service token the embedded mode
 * prints, so a person can call every RPC without a UCloud installation. The
 * token names subject `_ucloud` with role SERVICE, as UCloud's core does.
 */
export async function createDevelopmentCaller(
  issuer: string,
  lifetimeSeconds: number,
  nowMs: number,
): Promise<DevelopmentCaller> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const issuedAt = Math.floor(nowMs / 1000);

  const token = await new SignJWT({ role: "SERVICE", principalType: "service" })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setSubject("_ucloud")
    .setIssuer(issuer)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetimeSeconds)
    .sign(privateKey);

  return {
    publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    token,
  };
}
