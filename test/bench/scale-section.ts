import { mebibytes, refreshRequests, withServer, type BenchContext } from "./bench-context.js";
import { bestOf, runLoad } from "./load-generator.js";
import { LOAD_CORE, SERVER_CORE } from "./pinned-spawn.js";
import { STORE_FACTORIES } from "./store-factories.js";
import { SIGNING_KEY_CACHE_ENTRIES } from "../../src/domain/signing-keys.js";

/**
 * scaleSection measures Refresh with 1, 1 000 and 100 000 providers per
 * store, each in a fresh server pinned to one core, with requests spread at
 * random over every provider's refresh token (a shuffled round-robin, so at
 * 100 000 nearly every call meets a key the cache does not hold). Resident
 * memory is read after the load, with everything seeded and cached. Sizes
 * beyond the default signing-key cache run twice: as configured by default,
 * and with a cache that holds every provider, to show what that trade costs.
 */
export async function scaleSection(ctx: BenchContext): Promise<void> {
  const concurrency = ctx.measured.oneCore.Refresh?.concurrency ?? 16;

  for (const factory of STORE_FACTORIES) {
    if (factory.unavailable !== undefined) {
      ctx.report.add({
        section: "scale",
        measurement: `Refresh, ${factory.label}`,
        cores: "1",
        note: factory.unavailable,
      });
      continue;
    }

    const runs = ctx.options.scaleSizes.flatMap((size) =>
      size > SIGNING_KEY_CACHE_ENTRIES
        ? [
            { size, cache: undefined },
            { size, cache: size },
          ]
        : [{ size, cache: undefined }],
    );
    for (const { size, cache } of runs) {
      const env: Record<string, string> =
        cache === undefined ? {} : { PROVIDER_AUTH_SIGNING_KEY_CACHE_SIZE: String(cache) };
      await withServer({ cpus: SERVER_CORE, store: factory.name, env }, async (server) => {
        await server.waitForKeyPool(Number.MAX_SAFE_INTEGER, 60_000);
        const seeded = await server.call("seed", { count: size });
        const refresh = {
          rpc: "Refresh" as const,
          requests: refreshRequests(seeded.refreshTokens),
        };

        await runLoad(ctx.load, server.target, {
          ...refresh,
          concurrency: 16,
          durationS: ctx.options.warmupSeconds,
          cpus: LOAD_CORE,
        });
        const result = await bestOf(ctx.options.repeats, () =>
          runLoad(ctx.load, server.target, {
            ...refresh,
            concurrency,
            durationS: ctx.options.loadSeconds,
            cpus: LOAD_CORE,
          }),
        );
        const status = await server.call("status", {});
        if (cache === undefined) ctx.measured.scale[`${factory.name}|${size}`] = result.rps;

        const failed = result.errors > 0 ? `; ${result.errors} failed: ${result.firstError}` : "";
        ctx.report.add({
          section: "scale",
          measurement:
            `Refresh, ${size.toLocaleString("en-US")} providers, ${factory.label}` +
            (cache === undefined ? "" : `, key cache ${cache.toLocaleString("en-US")}`),
          cores: "1",
          concurrency,
          throughput: result.rps,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          maxMs: result.maxMs,
          note:
            `rss ${mebibytes(status.rssBytes)}, heap ${mebibytes(status.heapUsedBytes)}; ` +
            `seeded in ${seeded.seconds.toFixed(1)} s; best of ${result.runs}${failed}`,
        });
      });
    }
  }
}
