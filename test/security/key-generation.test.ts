import { createPublicKey } from "node:crypto";

import { describe, expect, it } from "vitest";

import { KeyPairPool } from "../../src/keys/key-pair-pool.js";

describe("generated provider keys", () => {
  it("are 200 distinct RSA-2048 keys with e = 65537", async () => {
    const pool = new KeyPairPool({ size: 0, concurrency: 1 });
    const pairs = await pool.take(200);
    pool.close();

    const moduli = new Set<string>();
    for (const pair of pairs) {
      const key = createPublicKey({
        key: Buffer.from(pair.publicKey, "base64"),
        format: "der",
        type: "spki",
      });
      expect(key.asymmetricKeyDetails).toEqual({ modulusLength: 2048, publicExponent: 65537n });
      moduli.add(key.export({ format: "jwk" }).n!);
    }
    expect(moduli.size).toBe(200);
  }, 180_000);

  it("never hands one pooled pair to two takers", async () => {
    const pool = new KeyPairPool({ size: 6, concurrency: 2 });
    while (pool.readyCount < 6) await new Promise((r) => setTimeout(r, 20));

    const taken = await Promise.all([pool.take(4), pool.take(4), pool.take(1)]);
    pool.close();
    const publicKeys = taken.flat().map((p) => p.publicKey);
    expect(new Set(publicKeys).size).toBe(9);
  }, 60_000);
});
