import { randomBytes } from "node:crypto";

import { MongoClient } from "mongodb";

import {
  connectMongoStore,
  type MongoStore,
  type MongoStoreOptions,
} from "../../src/store/mongo-store.js";
import type { FerretDb } from "../peers/ferretdb.js";
import { openMongoPeer, reportSkip } from "../peers/mongo-peer.js";
import type { StoreHandle } from "./fixtures.js";

/** MongoStoreHandle is a MongoStore on a database of its own, dropped on dispose. */
export interface MongoStoreHandle extends StoreHandle {
  store: MongoStore;
  database: string;
}

/** MongoSuite is one test file's server, a raw driver client on it, and fresh stores. */
export interface MongoSuite {
  label: string;
  uri: string;
  /** A client of the tests' own, to look at what the store wrote without going through it. */
  raw: MongoClient;
  /** Set only when this process started the server and so may stop it. */
  ferretDb: FerretDb | undefined;
  isFerretDb: boolean;
  /** Why concurrent conditional writes cannot be checked on this server, if they cannot. */
  racesSkipReason: string | undefined;
  openStore(options?: Partial<MongoStoreOptions>): Promise<MongoStoreHandle>;
  close(): Promise<void>;
}

// Short, so that tests of an unreachable server finish quickly.
const TEST_TIMEOUTS = {
  serverSelectionTimeoutMs: 1500,
  connectTimeoutMs: 1500,
  socketTimeoutMs: 5000,
};

/**
 * startMongoSuite opens the server a test file runs against, or prints why
 * there is none and returns undefined so the file can skip its cases.
 */
export async function startMongoSuite(
  suite: string,
  { probeRaces = true } = {},
): Promise<MongoSuite | undefined> {
  const peer = await openMongoPeer();
  if (!peer.available) {
    reportSkip(suite, peer.reason);
    return undefined;
  }

  const raw = new MongoClient(peer.uri, { serverSelectionTimeoutMS: 5000 });
  const run = randomBytes(4).toString("hex");
  let databases = 0;
  const freshDatabase = () => `provider_auth_test_${run}_${(databases += 1)}`;

  const close = async () => {
    await raw.close();
    await peer.ferretDb?.dispose();
  };

  let isFerretDb: boolean;
  let racesSkipReason: string | undefined;
  try {
    const buildInfo = await raw.db("admin").command({ buildInfo: 1 });
    isFerretDb = typeof buildInfo["ferretdbVersion"] === "string";
    racesSkipReason = probeRaces
      ? await probeConditionalWrites(raw, freshDatabase(), peer.label)
      : undefined;
  } catch (error) {
    await close();
    throw error;
  }
  if (racesSkipReason !== undefined)
    reportSkip(`${suite} race across two instances`, racesSkipReason);

  return {
    label: peer.label,
    uri: peer.uri,
    raw,
    ferretDb: peer.ferretDb,
    isFerretDb,
    racesSkipReason,
    async openStore(options = {}) {
      const database = freshDatabase();
      const store = await connectMongoStore({
        uri: peer.uri,
        database,
        startupTimeoutMs: 10_000,
        ...TEST_TIMEOUTS,
        ...options,
      });
      return {
        store,
        database,
        async dispose() {
          await store.close();
          // After a fault test restarts the server, the first use of a pooled
          // connection finds it dead; the second attempt opens a new one.
          await raw
            .db(database)
            .dropDatabase()
            .catch(() => raw.db(database).dropDatabase());
        },
      };
    },
    close,
  };
}

/**
 * probeConditionalWrites races 20 conditional replaces of one document, a few
 * rounds over, and returns a reason to skip the race cases if more than one
 * ever won. On such a server a compare-and-set cannot be atomic, so the race
 * cases would only measure the server. FerretDB 1.24 is one: it matches the
 * filter, then writes by `_id` in a separate step.
 */
async function probeConditionalWrites(
  raw: MongoClient,
  database: string,
  label: string,
): Promise<string | undefined> {
  const collection = raw
    .db(database)
    .collection<{ _id: string; version: number; writer: number }>("probe");
  try {
    await Promise.all(Array.from({ length: 20 }, () => collection.findOne({ _id: "probe" })));
    for (let round = 0; round < 5; round += 1) {
      await collection.deleteMany({});
      await collection.insertOne({ _id: "probe", version: 1, writer: -1 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, writer) =>
          collection.replaceOne({ _id: "probe", version: 1 }, { version: 2, writer }),
        ),
      );
      const winners = results.filter((r) => r.matchedCount === 1).length;
      if (winners > 1) {
        return (
          `${label} does not apply a conditional write atomically: ${winners} of 20 concurrent ` +
          "replaceOne({_id, version: 1}) calls on one document all matched. No compare-and-set " +
          "can be checked for races there; run these cases against MongoDB >= 6 via MONGODB_URI"
        );
      }
    }
    return undefined;
  } finally {
    await raw.db(database).dropDatabase();
  }
}
