import { DomainError } from "./errors.js";
import type { ProviderRecord, ProviderStore } from "../store/provider-store.js";

/** RecordChange is one compare-and-set: the record as read, and what replaces it. */
export interface RecordChange {
  before: ProviderRecord;
  after: ProviderRecord;
}

/**
 * applyChanges writes every change or none. Each write is a single-document
 * compare-and-set on the version read, so a concurrent change of the same
 * provider makes exactly one of the two callers win. When a later write
 * loses, the earlier ones are put back (again by compare-and-set, so a third
 * writer's change is never overwritten) and the call fails with `conflict`.
 * Nothing written here was returned to anyone yet, so undoing it is safe.
 */
export async function applyChanges(
  store: ProviderStore,
  changes: readonly RecordChange[],
): Promise<void> {
  const applied: RecordChange[] = [];

  try {
    for (const change of changes) {
      const won = await store.compareAndSet(change.before.version, change.after);
      if (!won) throw conflict(change.before.id);
      applied.push(change);
    }
  } catch (error) {
    await undo(store, applied);
    throw error;
  }
}

async function undo(store: ProviderStore, applied: readonly RecordChange[]): Promise<void> {
  for (const change of [...applied].reverse()) {
    try {
      await store.compareAndSet(change.after.version, change.before);
    } catch {
      // The store failed mid-undo (it became unreachable). That record keeps
      // secrets nobody was given; the caller sees the call fail and a retry
      // of the same call replaces them. No secret is lost or handed out.
    }
  }
}

function conflict(id: string): DomainError {
  return new DomainError(
    "conflict",
    `provider "${id}" was changed by a concurrent call; nothing was changed by this one, retry it`,
    { reason: "concurrent_change" },
  );
}
