import type { Filter, WithoutId } from "mongodb";

import type { ProviderRecord } from "./provider-store.js";

/**
 * ProviderDocument is how a ProviderRecord is stored: the provider id is the
 * document's `_id`, so MongoDB's built-in unique `_id` index is what makes an
 * id taken, and every other field keeps its record name.
 */
export type ProviderDocument = Omit<ProviderRecord, "id"> & { _id: string };

/** MongoLookup names the four ways the store finds records, each backed by an index. */
export type MongoLookup = "id" | "claimTokenHash" | "refreshTokenHash" | "retiredRefreshTokenHash";

/**
 * lookupFilter is the one place each lookup's query is written, so that the
 * queries the store runs and the ones its tests explain cannot drift apart.
 * The claim lookup checks expiry in the query itself: an expired claim token
 * never leaves the server.
 */
export function lookupFilter(
  lookup: MongoLookup,
  values: readonly string[],
  nowMs: number,
): Filter<ProviderDocument> {
  const among = { $in: [...values] };
  switch (lookup) {
    case "id":
      return { _id: among };
    case "claimTokenHash":
      return { claimTokenHash: among, claimValidUntil: { $gt: nowMs } };
    case "refreshTokenHash":
      return { refreshTokenHash: among };
    case "retiredRefreshTokenHash":
      return { retiredRefreshTokenHashes: among };
  }
}

/**
 * toDocument copies a record field by field, so that whatever else a caller's
 * object carries at run time never reaches the database.
 */
export function toDocument(record: ProviderRecord): ProviderDocument {
  return { _id: record.id, ...documentBody(record) };
}

/** documentBody is a record's document without `_id`, the shape a replacement takes. */
export function documentBody(record: ProviderRecord): WithoutId<ProviderDocument> {
  const sealed = record.sealedPrivateKey;
  return {
    version: record.version,
    keyVersion: record.keyVersion,
    publicKey: record.publicKey,
    sealedPrivateKey: {
      masterKeyId: sealed.masterKeyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      tag: sealed.tag,
    },
    claimTokenHash: record.claimTokenHash,
    claimValidUntil: record.claimValidUntil,
    claimedAt: record.claimedAt,
    refreshTokenHash: record.refreshTokenHash,
    retiredRefreshTokenHashes: [...record.retiredRefreshTokenHashes],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** fromDocument is the inverse of toDocument; fields the server adds are left behind. */
export function fromDocument(document: ProviderDocument): ProviderRecord {
  const sealed = document.sealedPrivateKey;
  return {
    id: document._id,
    version: document.version,
    keyVersion: document.keyVersion,
    publicKey: document.publicKey,
    sealedPrivateKey: {
      masterKeyId: sealed.masterKeyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      tag: sealed.tag,
    },
    claimTokenHash: document.claimTokenHash,
    claimValidUntil: document.claimValidUntil,
    claimedAt: document.claimedAt,
    refreshTokenHash: document.refreshTokenHash,
    retiredRefreshTokenHashes: [...document.retiredRefreshTokenHashes],
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

/**
 * ownDocumentFilter matches the document `record` was inserted as and nothing
 * else: a record under the same id written by anyone else has its own key
 * pair and claim token, so this filter never selects it.
 */
export function ownDocumentFilter(record: ProviderRecord): Filter<ProviderDocument> {
  return {
    _id: record.id,
    version: record.version,
    publicKey: record.publicKey,
    claimTokenHash: record.claimTokenHash,
  };
}
