import { MemoryStore } from "../../src/store/memory-store.js";
import { describeStoreConformance } from "./store-conformance.js";

describeStoreConformance("MemoryStore", async () => {
  const store = new MemoryStore();
  return { store, dispose: () => store.close() };
});
