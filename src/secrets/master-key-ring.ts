import type { RandomSource } from "./random.js";

/** MasterKey is one 256-bit entry of the key ring, named so records can say which sealed them. */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

const MASTER_KEY_BYTES = 32;
const MASTER_KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
// Node's decoder skips characters it does not know; a typo must not be skipped.
const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/**
 * MasterKeyRing holds the keys that seal private keys and hash tokens. The
 * first entry is current: it seals and hashes everything new. Every entry
 * still opens and matches what it sealed or hashed, so a new key can be put
 * in front without losing any record.
 */
export class MasterKeyRing {
  readonly keys: readonly MasterKey[];

  constructor(keys: readonly MasterKey[]) {
    if (keys.length === 0) throw new Error("the master key ring is empty");

    const ids = new Set(keys.map((k) => k.id));
    if (ids.size !== keys.length) throw new Error("the master key ring repeats a key id");

    this.keys = keys;
  }

  /** current is the key that seals and hashes new secrets. */
  get current(): MasterKey {
    return this.keys[0]!;
  }

  /** find returns the entry with this id, or undefined. */
  find(id: string): MasterKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  /** generate makes a one-entry ring for the embedded mode, whose data dies with the process. */
  static generate(random: RandomSource): MasterKeyRing {
    return new MasterKeyRing([{ id: "ephemeral", key: random(MASTER_KEY_BYTES) }]);
  }

  /**
   * parse reads `id:base64key[,id:base64key...]`, the current key first. Each
   * key is 32 bytes in standard or url-safe base64. Errors name the entry, never
   * its key material.
   */
  static parse(text: string): MasterKeyRing {
    const entries = text
      .split(/[,\n]/)
      .map((e) => e.trim())
      .filter((e) => e !== "" && !e.startsWith("#"));

    const keys = entries.map((entry, index) => {
      const separator = entry.indexOf(":");
      const id = separator < 0 ? "" : entry.slice(0, separator);
      if (!MASTER_KEY_ID.test(id)) {
        throw new Error(
          `entry ${index + 1} must look like <id>:<base64 of 32 bytes>, ` +
            "with an id of letters, digits, '.', '_' or '-'",
        );
      }

      const text = entry.slice(separator + 1);
      const key = BASE64.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
      if (key.length !== MASTER_KEY_BYTES) {
        throw new Error(`key "${id}" must be 32 bytes of base64, it decodes to ${key.length}`);
      }
      return { id, key };
    });

    return new MasterKeyRing(keys);
  }
}
