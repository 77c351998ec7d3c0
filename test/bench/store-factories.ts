import { MemoryStore } from "../../src/store/memory-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";

/**
 * StoreFactory is one store the scale section can run against. A store that
 * is not available in this build says why instead of opening, so the table
 * can still show its row.
 */
export interface StoreFactory {
  readonly name: string;
  readonly label: string;
  /** Why the store cannot be measured here, or undefined when it can. */
  readonly unavailable: string | undefined;
  open(): Promise<ProviderStore>;
}

/** STORE_FACTORIES lists every store the bench knows, memory first. */
export const STORE_FACTORIES: readonly StoreFactory[] = [
  {
    name: "memory",
    label: "memory",
    unavailable: undefined,
    open: async () => new MemoryStore(),
  },
  {
    name: "mongodb",
    label: "FerretDB (MongoDB store)",
    unavailable: "not measured: MongoDB store not on this branch",
    open: async () => {
      throw new Error("the MongoDB store is not on this branch");
    },
  },
];

/** storeFactory returns the factory with this name, or throws. */
export function storeFactory(name: string): StoreFactory {
  const factory = STORE_FACTORIES.find((f) => f.name === name);
  if (factory === undefined) throw new Error(`no store factory named ${JSON.stringify(name)}`);
  return factory;
}
