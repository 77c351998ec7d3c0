import { mebibytes, refreshRequests, withServer, type BenchContext } from "./bench-context.js";
import { bestOf, runLoad } from "./load-generator.js";
import { LOAD_CORE, SERVER_CORE } from "./pinned-spawn.js";
import { STORE_FACTORIES, type PreparedStore, type StoreFactory } from "./store-factories.js";

/**
 * scaleSection measures Refresh with 1, 1 000 and 100 000 providers per
 * store, each in a fresh server pinned to one core, with requests spread at
 * random over every provider's refresh token (a shuffled round-robin, so at
 * 100 000 nearly every call meets a key the cache does not hold). Resident
 * memory is read after the load, with everything seeded.
 *
 * A run of a few seconds reaches only a few thousand of 100 000 providers,
 * so there nearly every call is its key's first use (an import and OpenSSL's
 * first-use setup, about one more signature): what the row shows is that
 * cost, which no signing-key cache size changes within a run this short.
 */
export async function scaleSection(ctx: BenchContext): Promise<void> {
  for (const factory of STORE_FACTORIES) {
    const prepared = await factory.prepare(ctx.options.smoke);
    if ("unavailable" in prepared) {
      ctx.report.add({
        section: "scale",
        measurement: `Refresh, ${factory.label}`,
        cores: "1",
        note: prepared.unavailable,
      });
      continue;
    }
    try {
      await scaleOneStore(ctx, factory, prepared);
    } finally {
      await prepared.dispose();
    }
  }
}

async function scaleOneStore(ctx: BenchContext, factory: StoreFactory, prepared: PreparedStore) {
  const concurrency = ctx.measured.oneCore.Refresh?.concurrency ?? 16;
  for (const size of ctx.options.scaleSizes) {
    if (factory.largest !== undefined && size > factory.largest.providers) {
      ctx.report.add({
        section: "scale",
        measurement: `Refresh, ${size.toLocaleString("en-US")} providers, ${factory.label}`,
        cores: "1",
        note: factory.largest.why,
      });
      continue;
    }
    const server = { cpus: SERVER_CORE, store: factory.name, storeUri: prepared.uri };
    await withServer(server, async (running) => {
      await running.waitForKeyPool(Number.MAX_SAFE_INTEGER, 60_000);
      const seeded = await running.call("seed", { count: size });
      const refresh = { rpc: "Refresh" as const, requests: refreshRequests(seeded.refreshTokens) };

      await runLoad(ctx.load, running.target, {
        ...refresh,
        concurrency: 16,
        durationS: ctx.options.warmupSeconds,
        cpus: LOAD_CORE,
      });
      const result = await bestOf(ctx.options.repeats, () =>
        runLoad(ctx.load, running.target, {
          ...refresh,
          concurrency,
          durationS: ctx.options.loadSeconds,
          cpus: LOAD_CORE,
        }),
      );
      const status = await running.call("status", {});
      ctx.measured.scale[`${factory.name}|${size}`] = result.rps;

      const failed = result.errors > 0 ? `; ${result.errors} failed: ${result.firstError}` : "";
      ctx.report.add({
        section: "scale",
        measurement: `Refresh, ${size.toLocaleString("en-US")} providers, ${factory.label}`,
        cores: "1",
        concurrency,
        throughput: result.rps,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        maxMs: result.maxMs,
        note:
          `${prepared.note}rss ${mebibytes(status.rssBytes)}, ` +
          `heap ${mebibytes(status.heapUsedBytes)}; seeded in ${seeded.seconds.toFixed(1)} s; ` +
          `best of ${result.runs}${failed}`,
      });
    });
  }
}
