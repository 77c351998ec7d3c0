import { createPrivateKey } from "node:crypto";

import { BSON, type Document } from "mongodb";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";

import { LOOKUP_INDEX_KEYS } from "../../src/store/mongo-connect.js";
import { connectMongoStore } from "../../src/store/mongo-store.js";
import { lookupFilter, type MongoLookup } from "../../src/store/mongo-documents.js";
import { buildDomain, openPrivateKey, sampleRecord, type Domain } from "./fixtures.js";
import { startMongoSuite, type MongoStoreHandle } from "./mongo-fixtures.js";
import { describeStoreConformance } from "./store-conformance.js";

const suite = await startMongoSuite("MongoStore");
afterAll(() => suite?.close());

describe.skipIf(suite === undefined)(`MongoStore on ${suite?.label ?? "no server"}`, () => {
  // One store object serialises its own writes to a provider, so the race
  // cases hold on any server; racing across instances is tested below.
  describeStoreConformance("MongoStore", () => suite!.openStore());

  let handle: MongoStoreHandle;
  beforeEach(async () => {
    handle = await suite!.openStore();
  });
  afterEach(() => handle.dispose());

  const providers = () => suite!.raw.db(handle.database).collection<{ _id: string }>("providers");

  it.skipIf(suite?.racesSkipReason !== undefined)(
    "two instances racing compareAndSet from one version: exactly one wins",
    async () => {
      const other = await connectMongoStore({ uri: suite!.uri, database: handle.database });
      try {
        const first = sampleRecord("shared");
        await handle.store.insertAll([first]);
        const stores = [handle.store, other];
        const candidates = Array.from({ length: 20 }, (_, i) => ({
          ...first,
          version: 2,
          updatedAt: first.updatedAt + i + 1,
        }));

        const results = await Promise.all(
          candidates.map((c, i) => stores[i % 2]!.compareAndSet(1, c)),
        );
        const winners = candidates.filter((_, i) => results[i]);
        expect(winners).toHaveLength(1);
        expect(await handle.store.findByIds(["shared"])).toStrictEqual(winners);
      } finally {
        await other.close();
      }
    },
  );

  it("stores the id as _id and only the record's own fields, whatever else it holds", async () => {
    const record = sampleRecord("mapped");
    await handle.store.insertAll([Object.assign(structuredClone(record), { leaked: "extra" })]);

    const raw = await providers().findOne({ _id: "mapped" });
    const { _id, ...rest } = raw!;
    expect(_id).toBe("mapped");
    const { id, ...fields } = record;
    expect(rest).toStrictEqual(fields);
    expect(await handle.store.findByIds([id])).toStrictEqual([record]);
  });

  it("backs every lookup with an index", async () => {
    const indexes = await providers().listIndexes().toArray();
    const keys = indexes.map((index: Document) => Object.keys(index["key"] as Document));
    expect(keys).toEqual(expect.arrayContaining([["_id"], ...LOOKUP_INDEX_KEYS.map((k) => [k])]));

    const lookups: [MongoLookup, string][] = [
      ["id", "_id"],
      ["claimTokenHash", "claimTokenHash"],
      ["refreshTokenHash", "refreshTokenHash"],
      ["retiredRefreshTokenHash", "retiredRefreshTokenHashes"],
    ];
    await handle.store.insertAll([sampleRecord("planned")]);
    for (const [lookup, field] of lookups) {
      const explained = await handle.store.explainLookup(lookup, ["value"]);
      if (suite!.isFerretDb) {
        // FerretDB 1.24 on SQLite pushes no such filter down and its explain
        // shows only SQLite's plan of a full scan, so it cannot show an index
        // in use; the indexes are asserted above. What it can show is that
        // the query sent is the store's own, expiry check included.
        expect(explained["command"]["filter"]).toEqual(lookupFilter(lookup, ["value"], 0));
      } else {
        const scans = indexScans(explained["queryPlanner"]["winningPlan"]);
        expect(scans, `${lookup}: ${JSON.stringify(explained["queryPlanner"])}`).toContain(field);
      }
    }
  });

  it("keeps no issued token and no private key in the clear after a whole life cycle", async () => {
    const domain = buildDomain(handle.store);
    try {
      const secrets: string[] = [];
      const claimTokens = await domain.auth.register(["life-a", "life-b"]);
      secrets.push(...claimTokens, ...(await privateKeyEncodings(domain, handle)));

      const claimed = await domain.auth.claim(claimTokens);
      const retried = await domain.auth.claim([claimTokens[1]!]);
      const refreshTokens = [...claimed, ...retried].map((c) => c.refreshToken);
      const issued = await domain.auth.refresh([refreshTokens[0]!]);
      secrets.push(...refreshTokens, ...issued.map((t) => t.accessToken));

      const renewed = await domain.auth.renew(["life-a", "life-b"]);
      secrets.push(...renewed.map((c) => c.refreshToken));
      secrets.push(...(await privateKeyEncodings(domain, handle)));
      const orchestrated = await domain.auth.refreshAsOrchestrator(["life-a"]);
      secrets.push(...orchestrated.map((t) => t.accessToken));

      const dump = await dumpDatabase(handle.database);
      expect(dump).toContain(renewed[0]!.publicKey);
      for (const secret of secrets) expect(dump.includes(secret), secret.slice(0, 12)).toBe(false);
    } finally {
      domain.close();
    }
  });
});

// Walks a MongoDB plan tree and lists the first field of every index it scans;
// `_id` point reads have their own stage names.
function indexScans(plan: unknown): string[] {
  if (typeof plan !== "object" || plan === null) return [];
  const node = plan as Document;
  const own: string[] = [];
  if (["IDHACK", "EXPRESS_IDHACK"].includes(String(node["stage"]))) own.push("_id");
  if (String(node["stage"]).includes("IXSCAN") && typeof node["keyPattern"] === "object") {
    own.push(Object.keys(node["keyPattern"] as Document)[0] ?? "");
  }
  return [...own, ...Object.values(node).flatMap((child) => indexScans(child))];
}

// Every encoding a private key could be written in, each line of PEM included.
async function privateKeyEncodings(domain: Domain, handle: MongoStoreHandle): Promise<string[]> {
  const records = await handle.store.listAll();
  return records.flatMap((record) => {
    const der = openPrivateKey(domain, record);
    const pem = createPrivateKey({ key: der, format: "der", type: "pkcs8" })
      .export({ type: "pkcs8", format: "pem" })
      .toString();
    const pemLines = pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
    return [der.toString("base64"), der.toString("base64url"), der.toString("hex"), ...pemLines];
  });
}

// Reads every document of every collection straight from the server.
async function dumpDatabase(database: string): Promise<string> {
  const db = suite!.raw.db(database);
  const parts: string[] = [];
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    for (const document of await db.collection(name).find({}).toArray()) {
      parts.push(BSON.EJSON.stringify(document, { relaxed: false }));
    }
  }
  expect(parts.length).toBeGreaterThan(0);
  return parts.join("\n");
}
