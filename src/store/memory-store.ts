import { providerExists } from "../domain/errors.js";
import type { ProviderRecord, ProviderStore } from "./provider-store.js";

/**
 * MemoryStore keeps records in this process only: everything is lost when it
 * exits. Each method runs to completion without awaiting, which makes every
 * change atomic on Node's single thread. Records are copied in and out, so
 * callers can never change stored state by accident. Token hashes are
 * indexed, so a lookup costs the same at a hundred thousand providers as at
 * ten.
 */
export class MemoryStore implements ProviderStore {
  readonly kind = "memory";
  private readonly byId = new Map<string, ProviderRecord>();
  private readonly idByClaimHash = new Map<string, string>();
  private readonly idByRefreshHash = new Map<string, string>();
  private readonly idsByRetiredHash = new Map<string, Set<string>>();

  async insertAll(records: readonly ProviderRecord[]): Promise<void> {
    const taken = records.find((r) => this.byId.has(r.id));
    if (taken !== undefined) throw providerExists(taken.id);

    const ids = new Set(records.map((r) => r.id));
    if (ids.size !== records.length) throw new Error("insertAll was given one id twice");

    for (const record of records) this.put(record);
  }

  async findByIds(ids: readonly string[]): Promise<ProviderRecord[]> {
    return this.collect(ids);
  }

  async findByClaimTokenHashes(
    hashes: readonly string[],
    nowMs: number,
  ): Promise<ProviderRecord[]> {
    const ids = hashes.map((h) => this.idByClaimHash.get(h));
    return this.collect(ids).filter((r) => r.claimValidUntil > nowMs);
  }

  async findByRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]> {
    return this.collect(hashes.map((h) => this.idByRefreshHash.get(h)));
  }

  async findByRetiredRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]> {
    return this.collect(hashes.flatMap((h) => [...(this.idsByRetiredHash.get(h) ?? [])]));
  }

  async compareAndSet(expectedVersion: number, next: ProviderRecord): Promise<boolean> {
    const current = this.byId.get(next.id);
    if (current === undefined || current.version !== expectedVersion) return false;

    this.unindex(current);
    this.put(next);
    return true;
  }

  async listAll(): Promise<ProviderRecord[]> {
    return [...this.byId.values()].map(copy);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private put(record: ProviderRecord): void {
    const stored = copy(record);
    this.byId.set(stored.id, stored);

    if (stored.claimTokenHash !== null) this.idByClaimHash.set(stored.claimTokenHash, stored.id);
    if (stored.refreshTokenHash !== null) {
      this.idByRefreshHash.set(stored.refreshTokenHash, stored.id);
    }
    for (const hash of stored.retiredRefreshTokenHashes) {
      const ids = this.idsByRetiredHash.get(hash) ?? new Set<string>();
      ids.add(stored.id);
      this.idsByRetiredHash.set(hash, ids);
    }
  }

  private unindex(record: ProviderRecord): void {
    if (record.claimTokenHash !== null) this.idByClaimHash.delete(record.claimTokenHash);
    if (record.refreshTokenHash !== null) this.idByRefreshHash.delete(record.refreshTokenHash);
    for (const hash of record.retiredRefreshTokenHashes) {
      const ids = this.idsByRetiredHash.get(hash);
      ids?.delete(record.id);
      if (ids?.size === 0) this.idsByRetiredHash.delete(hash);
    }
  }

  private collect(ids: readonly (string | undefined)[]): ProviderRecord[] {
    const seen = new Set<string>();
    const found: ProviderRecord[] = [];
    for (const id of ids) {
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);

      const record = this.byId.get(id);
      if (record !== undefined) found.push(copy(record));
    }
    return found;
  }
}

// Records are plain data: strings, numbers, null, arrays and plain objects.
// Strings cannot be changed in place, so only the containers need copying;
// structuredClone would also copy every string (the sealed key alone is
// 1.6 KB) on every lookup, several times the cost and all of it garbage.
function copy(record: ProviderRecord): ProviderRecord {
  return copyPlain(record);
}

function copyPlain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyPlain) as T;
  if (value === null || typeof value !== "object") return value;

  const copied: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) copied[key] = copyPlain(field);
  return copied as T;
}
