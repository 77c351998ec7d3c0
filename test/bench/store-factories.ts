import { existsSync } from "node:fs";
import { join } from "node:path";

import { MemoryStore } from "../../src/store/memory-store.js";
import { connectMongoStore } from "../../src/store/mongo-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { FerretDb } from "../peers/ferretdb.js";
import { findOrInstallPeer, peersBinDir, PEER_TOOLS } from "../peers/install-peers.js";
import { randomBytes } from "node:crypto";

/** PreparedStore is a store's backing server, up for a section, and how to end it. */
export interface PreparedStore {
  /** What the server process needs to reach the store, if anything. */
  uri: string | undefined;
  /** Said in the table's note of each row on this store. */
  note: string;
  dispose(): Promise<void>;
}

/**
 * StoreFactory is one store the scale section can run against. The bench
 * prepares it (starts its database server, say) in the bench process; each
 * server process then opens a store of its own on it. A store that cannot be
 * had here says why instead, so the table can still show its row.
 */
export interface StoreFactory {
  readonly name: string;
  readonly label: string;
  /** Sizes above this are not run on this store, for the reason given. */
  readonly largest?: { providers: number; why: string };
  prepare(smoke: boolean): Promise<PreparedStore | { unavailable: string }>;
  open(uri: string | undefined): Promise<ProviderStore>;
}

// Generous: a FerretDB over SQLite on a busy two-core machine answers slowly.
const MONGO_TIMEOUT_MS = 10_000;

/** STORE_FACTORIES lists every store the bench knows, memory first. */
export const STORE_FACTORIES: readonly StoreFactory[] = [
  {
    name: "memory",
    label: "memory",
    prepare: async () => ({ uri: undefined, note: "", dispose: async () => {} }),
    open: async () => new MemoryStore(),
  },
  {
    name: "mongodb",
    label: "FerretDB",
    // Measured here: 1 provider ~550 Refresh/s, 1 000 providers ~14/s with a
    // p50 near a second; FerretDB 1.24 over SQLite does not use the token
    // hash index for these lookups, so 100 000 would take minutes per call.
    largest: {
      providers: 1000,
      why:
        "not measured: at 1 000 providers a Refresh already takes about a second " +
        "(FerretDB 1.24 over SQLite appears to scan for the token hash), so 100 000 " +
        "would take minutes per call",
    },
    prepare: async (smoke) => {
      // A smoke run must stay quick, so it uses FerretDB only if it is built.
      const built = existsSync(join(peersBinDir(), "ferretdb"));
      if (smoke && !built) {
        return {
          unavailable: "not measured: FerretDB is not built and smoke runs do not build it",
        };
      }
      try {
        const ferretDb = await FerretDb.launch(await findOrInstallPeer("ferretdb"));
        return {
          uri: ferretDb.uri,
          note: `FerretDB ${PEER_TOOLS.ferretdb.version} over SQLite, on every core; `,
          dispose: () => ferretDb.dispose(),
        };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return { unavailable: `not measured: FerretDB could not be started: ${detail}` };
      }
    },
    open: async (uri) => {
      if (uri === undefined) throw new Error("the MongoDB store needs the server's URI");
      return connectMongoStore({
        uri,
        // Each server process gets a database of its own, so sizes never mix.
        database: `provider_auth_bench_${randomBytes(4).toString("hex")}`,
        serverSelectionTimeoutMs: MONGO_TIMEOUT_MS,
        connectTimeoutMs: MONGO_TIMEOUT_MS,
        socketTimeoutMs: MONGO_TIMEOUT_MS,
      });
    },
  },
];

/** storeFactory returns the factory with this name, or throws. */
export function storeFactory(name: string): StoreFactory {
  const factory = STORE_FACTORIES.find((f) => f.name === name);
  if (factory === undefined) throw new Error(`no store factory named ${JSON.stringify(name)}`);
  return factory;
}
