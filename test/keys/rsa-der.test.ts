import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";

import { describe, expect, it } from "vitest";

import { rsaJwkFromPkcs8, rsaSpkiFromJwk } from "../../src/keys/rsa-der.js";
import { generateRsaKeyPair } from "../../src/keys/rsa-key-pair.js";

describe("rsa-der", () => {
  it("reads PKCS#8 and writes SPKI exactly as OpenSSL does, for many keys", async () => {
    // Several keys, so moduli and primes with and without a leading 1 bit
    // (and so with and without DER's sign octet) are all covered.
    const pairs = await Promise.all(Array.from({ length: 12 }, () => generateRsaKeyPair()));

    for (const pair of pairs) {
      const reference = createPrivateKey({
        key: pair.privateKeyPkcs8,
        format: "der",
        type: "pkcs8",
      }).export({ format: "jwk" });

      const jwk = rsaJwkFromPkcs8(pair.privateKeyPkcs8);
      expect(jwk).toEqual(reference);
      expect(rsaSpkiFromJwk(jwk).toString("base64")).toBe(pair.publicKey);
      expect(
        createPublicKey({ key: { ...jwk }, format: "jwk" })
          .export({ type: "spki", format: "der" })
          .toString("base64"),
      ).toBe(pair.publicKey);
    }
  });

  it("rejects what is not a two-prime RSA PKCS#8 key", async () => {
    const pair = await generateRsaKeyPair();
    const der = pair.privateKeyPkcs8;

    expect(() => rsaJwkFromPkcs8(der.subarray(0, der.length - 1))).toThrow(/truncated/);
    expect(() => rsaJwkFromPkcs8(Buffer.from("3003020101", "hex"))).toThrow();

    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const ecDer = ec.export({ type: "pkcs8", format: "der" });
    expect(() => rsaJwkFromPkcs8(ecDer)).toThrow(/not an rsaEncryption key/);
  });
});
