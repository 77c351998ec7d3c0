import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";

import type { MasterKeyRing } from "./master-key-ring.js";
import type { RandomSource } from "./random.js";

const SEAL_LABEL = "provider-auth private key seal v1";
const IV_BYTES = 12;

/** SealedPrivateKey is a provider's PKCS#8 private key under AES-256-GCM. */
export interface SealedPrivateKey {
  /** The master key entry that sealed it. */
  masterKeyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** SealBrokenError means a sealed key failed to open: tampered, moved or unknown master key. */
export class SealBrokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealBrokenError";
  }
}

/**
 * PrivateKeySealer encrypts provider private keys at rest. The provider id and
 * key version are bound in as associated data, so a sealed key copied onto
 * another provider's record, or an old key put back, fails to open instead of
 * signing for the wrong subject.
 */
export class PrivateKeySealer {
  private readonly sealKeys: ReadonlyMap<string, Buffer>;
  private readonly currentId: string;

  constructor(
    ring: MasterKeyRing,
    private readonly random: RandomSource,
  ) {
    this.sealKeys = new Map(
      ring.keys.map((k) => [
        k.id,
        Buffer.from(hkdfSync("sha256", k.key, Buffer.alloc(0), SEAL_LABEL, 32)),
      ]),
    );
    this.currentId = ring.current.id;
  }

  /** seal encrypts a PKCS#8 DER key for one provider and key version. */
  seal(providerId: string, keyVersion: number, pkcs8: Buffer): SealedPrivateKey {
    const iv = this.random(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.sealKeys.get(this.currentId)!, iv);
    cipher.setAAD(associatedData(providerId, keyVersion));

    const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    return {
      masterKeyId: this.currentId,
      iv: iv.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
  }

  /** open decrypts a sealed key, or throws SealBrokenError. */
  open(providerId: string, keyVersion: number, sealed: SealedPrivateKey): Buffer {
    const key = this.sealKeys.get(sealed.masterKeyId);
    if (key === undefined) {
      throw new SealBrokenError(`sealed with master key "${sealed.masterKeyId}", not in the ring`);
    }

    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
      decipher.setAAD(associatedData(providerId, keyVersion));
      decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
      const ciphertext = Buffer.from(sealed.ciphertext, "base64");
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new SealBrokenError("the sealed key does not belong to this provider and key version");
    }
  }

  /** isCurrent tells whether a sealed key is already under the current master key. */
  isCurrent(sealed: SealedPrivateKey): boolean {
    return sealed.masterKeyId === this.currentId;
  }
}

function associatedData(providerId: string, keyVersion: number): Buffer {
  return Buffer.from(`provider-auth private key|${providerId}|${keyVersion}`, "utf8");
}
