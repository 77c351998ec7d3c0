import { expect } from "vitest";

import type { ProviderStore } from "../../src/store/provider-store.js";

/**
 * expectStoreUnchanged runs a call that must fail and asserts the store holds
 * exactly what it held before, record for record.
 */
export async function expectStoreUnchanged(
  store: ProviderStore,
  failingCall: () => Promise<unknown>,
): Promise<unknown> {
  const before = sortById(await store.listAll());
  const error = await failingCall().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call was expected to fail").toBeDefined();
  expect(sortById(await store.listAll())).toEqual(before);
  return error;
}

function sortById<T extends { id: string }>(records: T[]): T[] {
  return [...records].sort((a, b) => a.id.localeCompare(b.id));
}
