import { MongoClient, type Collection, type Document } from "mongodb";

import { providerExists } from "../domain/errors.js";
import { mongoAddress, mongoClientOptions, openWithRetry, startupError } from "./mongo-connect.js";
import {
  documentBody,
  fromDocument,
  lookupFilter,
  ownDocumentFilter,
  toDocument,
  type MongoLookup,
  type ProviderDocument,
} from "./mongo-documents.js";
import { duplicateKey, storeUnavailable, toStoreError } from "./mongo-errors.js";
import { KeyedSerializer } from "./keyed-serializer.js";
import type { ProviderRecord, ProviderStore } from "./provider-store.js";

/** MongoStoreOptions say where the store lives and how long it may wait for it. */
export interface MongoStoreOptions {
  uri: string;
  database: string;
  /** Defaults to "providers". */
  collection?: string;
  /**
   * How long a call may wait for a server to become selectable. Default 3 s.
   * A server that refuses connections fails a call within about twice this
   * (the driver retries a read or write once).
   */
  serverSelectionTimeoutMs?: number;
  /** How long opening a connection may take, handshake included. Default 3 s. */
  connectTimeoutMs?: number;
  /**
   * How long a call may wait on an open connection for an answer. Default 5 s:
   * every call here is a point read or a small write. A server that hangs
   * fails a call within about twice this plus one server selection.
   */
  socketTimeoutMs?: number;
  /** How long start-up keeps retrying an unreachable server. Default 30 s. */
  startupTimeoutMs?: number;
}

/**
 * connectMongoStore makes the store's one MongoClient, waits for the server
 * (retrying for at most `startupTimeoutMs`) and creates the lookup indexes.
 * It throws an Error naming the server's address when it gives up.
 */
export async function connectMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  const timeouts = {
    serverSelectionTimeoutMs: options.serverSelectionTimeoutMs ?? 3000,
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    socketTimeoutMs: options.socketTimeoutMs ?? 5000,
  };
  let client: MongoClient;
  try {
    client = new MongoClient(options.uri, mongoClientOptions(timeouts));
  } catch (error) {
    const address = mongoAddress(options.uri);
    throw startupError(options.uri, `the provider store URI for ${address} is malformed`, error);
  }
  const collection = client
    .db(options.database)
    .collection<ProviderDocument>(options.collection ?? "providers");

  try {
    await openWithRetry(client, collection, options.uri, options.startupTimeoutMs ?? 30_000);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return new MongoStore(client, collection);
}

/**
 * MongoStore keeps each provider in one document of one collection, so every
 * change is a single conditional write and no transaction is ever needed.
 * That write is atomic on MongoDB. FerretDB 1.24 evaluates the filter and
 * then writes by `_id` in a separate step, so two writers racing over
 * separate connections can both win; this store therefore also runs the
 * writes of one provider one at a time within the process. One instance is
 * then safe on either server; several instances need MongoDB. Every failure
 * to reach the server becomes `unavailable` within the configured timeouts.
 */
export class MongoStore implements ProviderStore {
  readonly kind = "mongodb";
  private readonly writesByProvider = new KeyedSerializer();

  /** Build one with connectMongoStore, which also prepares the collection. */
  constructor(
    private readonly client: MongoClient,
    private readonly collection: Collection<ProviderDocument>,
  ) {}

  async insertAll(records: readonly ProviderRecord[]): Promise<void> {
    if (records.length === 0) return;
    const ids = new Set(records.map((r) => r.id));
    if (ids.size !== records.length) throw new Error("insertAll was given one id twice");

    try {
      await this.collection.insertMany(records.map(toDocument), { ordered: true });
    } catch (error) {
      throw await this.undoInsert(records, error);
    }
  }

  async findByIds(ids: readonly string[]): Promise<ProviderRecord[]> {
    return this.find("id", ids, 0);
  }

  async findByClaimTokenHashes(
    hashes: readonly string[],
    nowMs: number,
  ): Promise<ProviderRecord[]> {
    return this.find("claimTokenHash", hashes, nowMs);
  }

  async findByRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]> {
    return this.find("refreshTokenHash", hashes, 0);
  }

  async findByRetiredRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]> {
    return this.find("retiredRefreshTokenHash", hashes, 0);
  }

  async compareAndSet(expectedVersion: number, next: ProviderRecord): Promise<boolean> {
    return this.writesByProvider.run(next.id, async () => {
      try {
        const result = await this.collection.replaceOne(
          { _id: next.id, version: expectedVersion },
          documentBody(next),
        );
        return result.matchedCount === 1;
      } catch (error) {
        throw toStoreError(error);
      }
    });
  }

  async listAll(): Promise<ProviderRecord[]> {
    try {
      const documents = await this.collection.find({}).sort({ _id: 1 }).toArray();
      return documents.map(fromDocument);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.db("admin").command({ ping: 1 });
    } catch (error) {
      throw storeUnavailable(error);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** explainLookup shows how the server plans one of the store's own lookups. */
  async explainLookup(
    lookup: MongoLookup,
    values: readonly string[],
    nowMs = 0,
  ): Promise<Document> {
    try {
      const filter = lookupFilter(lookup, values, nowMs);
      return await this.collection.find(filter).explain("queryPlanner");
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async find(
    lookup: MongoLookup,
    values: readonly string[],
    nowMs: number,
  ): Promise<ProviderRecord[]> {
    if (values.length === 0) return [];
    try {
      const documents = await this.collection.find(lookupFilter(lookup, values, nowMs)).toArray();
      return documents.map(fromDocument);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /**
   * undoInsert removes what a failed insertAll wrote, so that no part of the
   * call remains, and returns the error to throw. Only documents exactly as
   * this call wrote them are deleted, never a record someone else owns.
   * When even that fails, the server is gone: the leftovers hold claim tokens
   * that were never handed out, so they block their ids until removed.
   */
  private async undoInsert(records: readonly ProviderRecord[], error: unknown): Promise<Error> {
    try {
      await this.collection.deleteMany({ $or: records.map(ownDocumentFilter) });
    } catch (undoError) {
      return toStoreError(duplicateKey(error).found ? undoError : error);
    }

    const duplicate = duplicateKey(error);
    if (!duplicate.found) return toStoreError(error);

    const named = duplicate.index === undefined ? undefined : records[duplicate.index];
    return providerExists(named?.id ?? (await this.firstTakenId(records)));
  }

  // When the driver does not say which insert failed, the taken id is one
  // that is still there after this call's own documents were removed.
  private async firstTakenId(records: readonly ProviderRecord[]): Promise<string> {
    const taken = new Set((await this.findByIds(records.map((r) => r.id))).map((r) => r.id));
    return records.find((r) => taken.has(r.id))?.id ?? records[0]!.id;
  }
}
