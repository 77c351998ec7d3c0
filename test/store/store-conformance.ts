import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { ProviderRecord, ProviderStore } from "../../src/store/provider-store.js";
import { registerDomainRaces } from "./domain-races.js";
import {
  nextVersionOf,
  sampleRecord,
  SteppedClock,
  warmUp,
  type OpenStore,
  type StoreHandle,
} from "./fixtures.js";

/** ConformanceOptions say what a store under test can be held to. */
export interface ConformanceOptions {
  /**
   * Why concurrent compareAndSet calls cannot be checked against this store,
   * if they cannot; the race cases are then skipped with this reason.
   */
  racesSkipReason?: string;
}

const byId = (a: ProviderRecord, b: ProviderRecord) => a.id.localeCompare(b.id);

/**
 * describeStoreConformance registers the cases every ProviderStore must pass,
 * each against a fresh store from `open`, so that all stores behave alike.
 */
export function describeStoreConformance(
  name: string,
  open: OpenStore,
  options: ConformanceOptions = {},
): void {
  describe(`${name}: ProviderStore conformance`, () => {
    let handle: StoreHandle | undefined;
    const store = (): ProviderStore => handle!.store;

    beforeEach(async () => {
      handle = await open();
    });
    afterEach(async () => {
      await handle?.dispose();
      handle = undefined;
    });

    it("finds inserted records by id, each once, and ignores unknown ids", async () => {
      const a = sampleRecord("a");
      const b = sampleRecord("b");
      await store().insertAll([a, b]);

      expect(await store().findByIds(["a"])).toStrictEqual([a]);
      expect(await store().findByIds(["a", "missing", "a"])).toStrictEqual([a]);
      expect((await store().findByIds(["b", "a"])).sort(byId)).toStrictEqual([a, b]);
      expect(await store().findByIds([])).toStrictEqual([]);
    });

    it("finds by claim token hash only while the claim is live at the given time", async () => {
      const clock = new SteppedClock();
      const live = sampleRecord("live", { claimValidUntil: clock.now() + 1000 });
      const retired = sampleRecord("retired", { claimTokenHash: null, claimValidUntil: 0 });
      await store().insertAll([live, retired]);
      const hash = live.claimTokenHash!;

      expect(await store().findByClaimTokenHashes(["other", hash], clock.now())).toStrictEqual([
        live,
      ]);
      clock.advance(999);
      expect(await store().findByClaimTokenHashes([hash], clock.now())).toStrictEqual([live]);
      clock.advance(1);
      expect(await store().findByClaimTokenHashes([hash], clock.now())).toStrictEqual([]);
      clock.advance(60_000);
      expect(await store().findByClaimTokenHashes([hash], clock.now())).toStrictEqual([]);
      expect(await store().findByClaimTokenHashes(["unknown"], 0)).toStrictEqual([]);
    });

    it("finds by live refresh token hash and by retired hashes", async () => {
      const one = sampleRecord("one", {
        refreshTokenHash: "live-1",
        retiredRefreshTokenHashes: ["x", "y"],
      });
      const two = sampleRecord("two", {
        refreshTokenHash: "live-2",
        retiredRefreshTokenHashes: ["y"],
      });
      await store().insertAll([one, two]);

      expect(await store().findByRefreshTokenHashes(["live-1"])).toStrictEqual([one]);
      expect(await store().findByRefreshTokenHashes(["unknown", "live-2"])).toStrictEqual([two]);
      expect(await store().findByRefreshTokenHashes(["x"])).toStrictEqual([]);
      expect(await store().findByRetiredRefreshTokenHashes(["x"])).toStrictEqual([one]);
      expect((await store().findByRetiredRefreshTokenHashes(["y"])).sort(byId)).toStrictEqual([
        one,
        two,
      ]);
      expect(await store().findByRetiredRefreshTokenHashes(["live-1"])).toStrictEqual([]);
    });

    it.each([0, 1, 2])(
      "insertAll leaves nothing of the call when the id at position %i is taken",
      async (position) => {
        const existing = sampleRecord("taken");
        await store().insertAll([existing]);

        const batch = ["first", "second", "third"].map((id) => sampleRecord(id));
        batch[position] = sampleRecord("taken");
        const error = await store()
          .insertAll(batch)
          .catch((e: unknown) => e);

        expect(error).toMatchObject({ code: "already_exists" });
        expect(String(error)).toContain('"taken"');
        expect(await store().listAll()).toStrictEqual([existing]);
      },
    );

    it("insertAll refuses a call that names one id twice, and stores nothing", async () => {
      await expect(
        store().insertAll([sampleRecord("twice"), sampleRecord("twice")]),
      ).rejects.toThrow();
      expect(await store().listAll()).toStrictEqual([]);
    });

    it("compareAndSet wins on the stored version and loses on any other", async () => {
      const first = sampleRecord("cas");
      await store().insertAll([first]);
      const second = nextVersionOf(first);

      expect(await store().compareAndSet(1, second)).toBe(true);
      expect(await store().findByIds(["cas"])).toStrictEqual([second]);

      expect(await store().compareAndSet(1, nextVersionOf(first))).toBe(false);
      expect(await store().compareAndSet(3, nextVersionOf(second))).toBe(false);
      expect(await store().findByIds(["cas"])).toStrictEqual([second]);

      expect(await store().compareAndSet(1, sampleRecord("never-inserted"))).toBe(false);
      expect(await store().findByIds(["never-inserted"])).toStrictEqual([]);
    });

    it("compareAndSet moves every lookup to the new record", async () => {
      const first = sampleRecord("moved", { refreshTokenHash: "old-live" });
      await store().insertAll([first]);
      const second = { ...nextVersionOf(first), retiredRefreshTokenHashes: ["old-live"] };
      await store().compareAndSet(1, second);

      expect(await store().findByClaimTokenHashes([first.claimTokenHash!], 0)).toStrictEqual([]);
      expect(await store().findByRefreshTokenHashes(["old-live"])).toStrictEqual([]);
      expect(await store().findByRetiredRefreshTokenHashes(["old-live"])).toStrictEqual([second]);
      expect(await store().findByRefreshTokenHashes([second.refreshTokenHash!])).toStrictEqual([
        second,
      ]);
    });

    it("hands out copies: changing a record given or returned changes nothing stored", async () => {
      const given = sampleRecord("copied", { retiredRefreshTokenHashes: ["r"] });
      const original = structuredClone(given);
      await store().insertAll([given]);
      given.retiredRefreshTokenHashes.push("given-later");
      given.sealedPrivateKey.iv = "changed";

      const [returned] = await store().findByIds(["copied"]);
      returned!.retiredRefreshTokenHashes.push("returned-later");
      returned!.sealedPrivateKey.tag = "changed";
      returned!.version = 99;

      expect(await store().findByIds(["copied"])).toStrictEqual([original]);
    });

    it("lists every record and answers ping", async () => {
      const records = ["l1", "l2", "l3"].map((id) => sampleRecord(id));
      await store().insertAll(records);

      expect((await store().listAll()).sort(byId)).toStrictEqual(records);
      await expect(store().ping()).resolves.toBeUndefined();
    });

    it.skipIf(options.racesSkipReason !== undefined)(
      "20 concurrent compareAndSet calls from one version: exactly one wins, whole",
      async () => {
        const first = sampleRecord("contended");
        await store().insertAll([first]);
        const candidates = Array.from({ length: 20 }, () => nextVersionOf(first));
        await warmUp(store());

        const results = await Promise.all(candidates.map((c) => store().compareAndSet(1, c)));

        const winners = candidates.filter((_, i) => results[i]);
        expect(winners).toHaveLength(1);
        expect(await store().findByIds(["contended"])).toStrictEqual(winners);
      },
    );

    registerDomainRaces(store, options.racesSkipReason);
  });
}
