import { describe, expect, it } from "vitest";

import { jsonLineLogger } from "../../src/log/logger.js";
import { resealPrivateKeys } from "../../src/maintenance/reseal-private-keys.js";
import { MasterKeyRing } from "../../src/secrets/master-key-ring.js";
import { PrivateKeySealer } from "../../src/secrets/private-key-sealer.js";
import { cryptoRandom } from "../../src/secrets/random.js";
import { domainFixture } from "../support/domain-fixture.js";

describe("resealing private keys", () => {
  it("moves every key under the current master key, after which the old one can go", async () => {
    const old = MasterKeyRing.generate(cryptoRandom);
    const before = domainFixture({ ring: old });
    await before.domain.register(["a", "b", "c"]);

    const fresh = { id: "next", key: cryptoRandom(32) };
    const rotated = new MasterKeyRing([fresh, ...old.keys]);
    const lines: string[] = [];
    const report = await resealPrivateKeys(
      before.store,
      new PrivateKeySealer(rotated, cryptoRandom),
      jsonLineLogger("debug", (line) => lines.push(line)),
    );
    expect(report).toEqual({ resealed: 3, alreadyCurrent: 0, broken: [] });

    const records = await before.store.listAll();
    expect(records.map((r) => r.sealedPrivateKey.masterKeyId)).toEqual(["next", "next", "next"]);

    // Only the new key is left in the ring, and every provider still signs.
    const after = domainFixture({ store: before.store, ring: new MasterKeyRing([fresh]) });
    expect(await after.domain.refreshAsOrchestrator(["a", "b", "c"])).toHaveLength(3);

    const again = await resealPrivateKeys(
      before.store,
      new PrivateKeySealer(rotated, cryptoRandom),
      jsonLineLogger("debug", () => undefined),
    );
    expect(again).toEqual({ resealed: 0, alreadyCurrent: 3, broken: [] });
  });

  it("names a record whose sealed key does not open, and leaves it as it was", async () => {
    const ring = MasterKeyRing.generate(cryptoRandom);
    const { domain, store } = domainFixture({ ring });
    await domain.register(["a", "b"]);
    const [a, b] = await store.listAll();
    await store.compareAndSet(b!.version, {
      ...b!,
      version: b!.version + 1,
      sealedPrivateKey: a!.sealedPrivateKey,
    });
    const tampered = (await store.findByIds(["b"]))[0];

    const rotated = new MasterKeyRing([{ id: "next", key: cryptoRandom(32) }, ...ring.keys]);
    const report = await resealPrivateKeys(
      store,
      new PrivateKeySealer(rotated, cryptoRandom),
      jsonLineLogger("debug", () => undefined),
    );
    expect(report.broken).toEqual(["b"]);
    expect((await store.findByIds(["b"]))[0]).toEqual(tampered);
  });
});
