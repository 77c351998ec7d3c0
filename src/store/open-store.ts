import type { Config } from "../config/config.js";
import { MemoryStore } from "./memory-store.js";
import { connectMongoStore } from "./mongo-store.js";
import type { ProviderStore } from "./provider-store.js";

/** openStore returns the store the configuration names: MongoDB when a URI is set, else memory. */
export async function openStore(config: Config): Promise<ProviderStore> {
  if (config.mongodb === undefined) return new MemoryStore();

  const { uri, database, timeoutMs } = config.mongodb;
  return connectMongoStore({
    uri,
    database,
    serverSelectionTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    socketTimeoutMs: timeoutMs + 2000,
    startupTimeoutMs: config.mongodb.startupTimeoutMs,
  });
}
