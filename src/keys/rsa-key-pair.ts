import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * RsaKeyPair is a provider key pair in the encodings UCloud providers parse:
 * the public key as base64 of the X.509 SubjectPublicKeyInfo DER (no PEM
 * armour, no line breaks), the private key as PKCS#8 DER.
 */
export interface RsaKeyPair {
  publicKey: string;
  privateKeyPkcs8: Buffer;
}

/**
 * generateRsaKeyPair makes an RSA-2048 key pair with e = 65537. Node runs the
 * prime search on its thread pool, so the event loop keeps serving meanwhile.
 */
export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync("rsa", {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });

  return { publicKey: publicKey.toString("base64"), privateKeyPkcs8: privateKey };
}
