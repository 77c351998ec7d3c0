import { setTimeout as delay } from "node:timers/promises";

import type { Collection, MongoClient, MongoClientOptions } from "mongodb";

import type { ProviderDocument } from "./mongo-documents.js";
import { isUnreachable } from "./mongo-errors.js";

/** MongoTimeouts bound every wait on the server, so a lost server fails calls, never hangs them. */
export interface MongoTimeouts {
  serverSelectionTimeoutMs: number;
  connectTimeoutMs: number;
  socketTimeoutMs: number;
}

/**
 * mongoClientOptions are the driver settings the store relies on. Writes ask
 * for a journaled majority acknowledgement: a compare-and-set confirmed by
 * one member only could be rolled back by a failover after its winner had
 * already handed out tokens, leaving a provider with credentials the store
 * no longer knows. FerretDB ignores write concern; MongoDB honours it.
 */
export function mongoClientOptions(timeouts: MongoTimeouts): MongoClientOptions {
  return {
    appName: "provider-auth",
    serverSelectionTimeoutMS: timeouts.serverSelectionTimeoutMs,
    connectTimeoutMS: timeouts.connectTimeoutMs,
    socketTimeoutMS: timeouts.socketTimeoutMs,
    writeConcern: {
      w: "majority",
      journal: true,
      // Below the socket timeout, so a missing majority is reported by the
      // server as such rather than as a dropped connection.
      wtimeoutMS: Math.max(1, Math.floor(timeouts.socketTimeoutMs / 2)),
    },
  };
}

// The lookups by token hash; the `_id` index that serves lookups by id and
// makes ids unique exists on every collection already. Plain indexes only:
// the hash fields are null on many records, and FerretDB has no sparse or
// partial indexes to leave those out.
const LOOKUP_INDEXES = [
  { key: { claimTokenHash: 1 }, name: "claimTokenHash_1" },
  { key: { refreshTokenHash: 1 }, name: "refreshTokenHash_1" },
  { key: { retiredRefreshTokenHashes: 1 }, name: "retiredRefreshTokenHashes_1" },
] as const;

/** LOOKUP_INDEX_KEYS are the single-field keys the store indexes, for tests and diagnostics. */
export const LOOKUP_INDEX_KEYS: readonly string[] = LOOKUP_INDEXES.map(
  (index) => Object.keys(index.key)[0]!,
);

/**
 * openWithRetry connects and creates the lookup indexes, retrying while the
 * server is unreachable until `startupTimeoutMs` has passed (the last
 * attempt may run one server selection timeout past it). Any other failure,
 * such as refused credentials, ends it at once: waiting would not help.
 * Errors name the server's address, never the credentials in the URI.
 */
export async function openWithRetry(
  client: MongoClient,
  collection: Collection<ProviderDocument>,
  uri: string,
  startupTimeoutMs: number,
): Promise<void> {
  const address = mongoAddress(uri);
  const deadline = Date.now() + startupTimeoutMs;

  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.connect();
      await client.db("admin").command({ ping: 1 });
      await createMissingIndexes(collection);
      return;
    } catch (error) {
      const pause = Math.min(250 * attempt, 2000);
      if (!isUnreachable(error)) {
        throw startupError(uri, `the provider store at ${address} refused to start`, error);
      }
      if (Date.now() + pause >= deadline) {
        const waited = `within ${startupTimeoutMs} ms (${attempt} attempts)`;
        throw startupError(
          uri,
          `the provider store at ${address} was unreachable ${waited}`,
          error,
        );
      }
      await delay(pause);
    }
  }
}

/**
 * mongoAddress is the host list of a MongoDB URI, with MongoDB's default port
 * made explicit, and without the scheme, credentials, database or options.
 */
export function mongoAddress(uri: string): string {
  const scheme = /^mongodb(\+srv)?:\/\//.exec(uri);
  if (scheme === null) return "(an address that is not a mongodb:// URI)";

  const authority = uri.slice(scheme[0].length).split(/[/?]/, 1)[0] ?? "";
  const hosts = authority.slice(authority.lastIndexOf("@") + 1);
  // An SRV name is looked up, not dialled, so it has no port to add.
  if (scheme[1] !== undefined) return hosts;

  return hosts
    .split(",")
    .map((host) => (/:\d+$/.test(host) ? host : `${host}:27017`))
    .join(",");
}

/**
 * startupError is an Error for a store that could not start, naming the
 * address and the driver's last complaint, with the credentials masked.
 */
export function startupError(uri: string, summary: string, cause: unknown): Error {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new Error(maskCredentials(`${summary}: ${detail}`, uri), { cause });
}

// Driver messages do not echo the user name or password, but an error built
// around one must not rely on that: wherever either appears, it is masked.
function maskCredentials(text: string, uri: string): string {
  const userInfo = /^mongodb(?:\+srv)?:\/\/([^@/?]*)@/.exec(uri)?.[1];
  if (userInfo === undefined) return text;

  const secrets = userInfo
    .split(":")
    .flatMap((part) => [part, safeDecode(part)])
    .filter((part) => part !== "");
  return secrets.reduce((masked, secret) => masked.split(secret).join("***"), text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// FerretDB 1.24 drops the connection when asked to create an index that
// already exists (which MongoDB treats as a no-op), so a restart against an
// existing database creates only the indexes that are missing.
async function createMissingIndexes(collection: Collection<ProviderDocument>): Promise<void> {
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch((error: unknown) => {
      // A collection that does not exist yet has no indexes (NamespaceNotFound).
      if ((error as { code?: unknown }).code === 26) return [];
      throw error;
    });
  const names = new Set(existing.map((index) => index["name"] as string));

  const missing = LOOKUP_INDEXES.filter((index) => !names.has(index.name));
  if (missing.length > 0) await collection.createIndexes([...missing]);
}
