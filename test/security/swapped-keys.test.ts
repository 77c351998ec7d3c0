import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { ProviderDocument } from "../../src/store/mongo-documents.js";
import { startMongoSuite } from "../store/mongo-fixtures.js";
import { AttackService, TRANSPORTS, type Transport } from "./attack-fixture.js";

// Tampering goes straight to the database, past the store, as someone with
// write access to MongoDB but not to the master keys would do it.
const suite = await startMongoSuite("sealed keys tampered with in MongoDB", { probeRaces: false });
afterAll(() => suite?.close());

interface Provider {
  id: string;
  refreshToken: string;
}

describe.skipIf(suite === undefined)("sealed private keys tampered with in the database", () => {
  let svc: AttackService;
  let database: string;
  const providers = new Map<string, Provider>();
  const names = ["alpha", "beta", "gamma", "epsilon", "zeta", "healthy"] as const;
  const provider = (name: (typeof names)[number]) => providers.get(name)!;

  const collection = () => suite!.raw.db(database).collection<ProviderDocument>("providers");
  const documentOf = async (id: string) => (await collection().findOne({ _id: id }))!;

  beforeAll(async () => {
    svc = await AttackService.start({}, async () => {
      const handle = await suite!.openStore();
      database = handle.database;
      return handle;
    });
    // Nothing is signed before the tampering, so no opened key is cached.
    for (const name of names) {
      const { refreshToken } = await svc.registerAndClaim("grpc-js", `${name}-${process.pid}`);
      providers.set(name, { id: `${name}-${process.pid}`, refreshToken });
    }

    const [alpha, beta] = [
      await documentOf(provider("alpha").id),
      await documentOf(provider("beta").id),
    ];
    await collection().updateOne(
      { _id: alpha._id },
      { $set: { sealedPrivateKey: beta.sealedPrivateKey } },
    );
    await collection().updateOne(
      { _id: beta._id },
      { $set: { sealedPrivateKey: alpha.sealedPrivateKey } },
    );

    // The whole key material moved over: public key, sealed key and key version.
    const [epsilon, zeta] = [
      await documentOf(provider("epsilon").id),
      await documentOf(provider("zeta").id),
    ];
    const keyOf = (d: ProviderDocument) => ({
      publicKey: d.publicKey,
      sealedPrivateKey: d.sealedPrivateKey,
      keyVersion: d.keyVersion,
    });
    await collection().updateOne({ _id: epsilon._id }, { $set: keyOf(zeta) });
    await collection().updateOne({ _id: zeta._id }, { $set: keyOf(epsilon) });

    const gamma = await documentOf(provider("gamma").id);
    const ciphertext = Buffer.from(gamma.sealedPrivateKey.ciphertext, "base64");
    const middle = ciphertext.length >> 1;
    ciphertext.writeUInt8(ciphertext.readUInt8(middle) ^ 0x01, middle);
    await collection().updateOne(
      { _id: gamma._id },
      { $set: { "sealedPrivateKey.ciphertext": ciphertext.toString("base64") } },
    );
  });
  afterAll(() => svc?.close());

  const TAMPERED = [
    ["a sealed key swapped with another provider's", "alpha"],
    ["the other half of that swap", "beta"],
    ["a sealed key with one ciphertext byte flipped", "gamma"],
    ["a provider given another's whole key material", "epsilon"],
    ["the other half of that move", "zeta"],
  ] as const;

  describe.each(TRANSPORTS)("over %s", (transport: Transport) => {
    async function expectBrokenKey(
      rpc: string,
      request: object,
      id: string,
      bearer: null | "service",
    ) {
      const error = await svc.refusal(transport, rpc, request, bearer);
      expect(error.code).toBe("INTERNAL");
      expect(error.message).toBe("INTERNAL: internal error");
      const lines = svc.linesOf(svc.lastCall());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        rpc,
        outcome: "internal",
        reason: `sealed_key_broken:${id}`,
        security_event: true,
        level: "error",
      });
    }

    it.each(TAMPERED)("refuses to sign with %s (%s), as a bare INTERNAL", async (_what, name) => {
      const { id, refreshToken } = provider(name);
      await expectBrokenKey("Refresh", { items: [{ refreshToken }] }, id, null);
      await expectBrokenKey(
        "RefreshAsOrchestrator",
        { items: [{ providerId: id }] },
        id,
        "service",
      );
    });

    it("signs nothing for the healthy providers of a bulk that names a tampered one", async () => {
      const healthy = provider("healthy");
      const alpha = provider("alpha");
      const refresh = {
        items: [{ refreshToken: healthy.refreshToken }, { refreshToken: alpha.refreshToken }],
      };
      await expectBrokenKey("Refresh", refresh, alpha.id, null);
      const orchestrate = { items: [{ providerId: healthy.id }, { providerId: alpha.id }] };
      await expectBrokenKey("RefreshAsOrchestrator", orchestrate, alpha.id, "service");
    });

    it("keeps signing for providers whose keys were left alone", async () => {
      expect(await svc.refresh(transport, provider("healthy").refreshToken)).toMatch(/^ey/);
    });
  });
});
