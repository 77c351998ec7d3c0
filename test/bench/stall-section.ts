import { apiClient, bearer, timed } from "./bench-client.js";
import { refreshRequests, sleep, withServer, type BenchContext } from "./bench-context.js";
import { openHealthProbe } from "./health-probe.js";
import { latencySummary } from "./percentiles.js";

// Long enough for any Register to finish; the load is stopped as soon as it does.
const LOAD_CAP_SECONDS = 180;
const PROBE_INTERVAL_MS = 50;

/**
 * stallSection puts full Refresh load on a server on all cores, with the
 * default key pool, then registers a bulk large enough to drain the pool and
 * generate most keys on demand. Meanwhile a probe on its own connection times
 * a cheap call every 50 ms, and the server records its event-loop delay.
 */
export async function stallSection(ctx: BenchContext): Promise<void> {
  await withServer({ cpus: undefined, store: "memory" }, async (server) => {
    await server.waitForKeyPool(Number.MAX_SAFE_INTEGER, 60_000);
    const seeded = await server.call("seed", { count: ctx.options.serviceProviders });
    const token = server.ready.developmentToken;
    const concurrency = ctx.measured.allCores.Refresh?.concurrency ?? 16;
    const refresh = { rpc: "Refresh" as const, requests: refreshRequests(seeded.refreshTokens) };

    const load = ctx.load.start(server.target, {
      ...refresh,
      concurrency,
      durationS: LOAD_CAP_SECONDS,
      cpus: undefined,
    });
    const probe = await openHealthProbe(server.target, token, seeded.ids[0]!);
    try {
      await sleep(ctx.options.warmupSeconds * 1000);
      await server.call("loop-delay-reset", {});

      const latencies: number[] = [];
      let probing = true;
      const probeLoop = (async () => {
        while (probing) {
          const started = performance.now();
          latencies.push(await probe.once());
          await sleep(Math.max(0, PROBE_INTERVAL_MS - (performance.now() - started)));
        }
      })();

      const bulk = ctx.options.stallBulk;
      const items = Array.from({ length: bulk }, (_, i) => ({ id: `stall-${i}` }));
      const registering = timed(() => apiClient(server.url).register({ items }, bearer(token)));
      // Key generation yields to signing, so under full load a large Register
      // can take minutes; the overlap measured is capped, then the load stops
      // and the Register finishes on an idle server.
      const windowStarted = performance.now();
      const overlapped = await Promise.race([
        registering.then(() => true),
        sleep(ctx.options.stallWindowSeconds * 1000).then(() => false),
      ]);
      const windowSeconds = (performance.now() - windowStarted) / 1000;
      probing = false;
      await probeLoop;
      const delay = await server.call("loop-delay-read", {});
      load.stop();
      const refreshed = await load.result;
      const register = await registering;

      const health = latencySummary(latencies);
      ctx.measured.healthUnderLoad = { label: probe.label, ...health };
      ctx.measured.keyGenerationLoopDelayMaxMs = Math.max(
        ctx.measured.keyGenerationLoopDelayMaxMs,
        delay.maxMs,
      );

      const under =
        `${windowSeconds.toFixed(1)} s of Register of ${bulk} ` +
        `+ Refresh at concurrency ${concurrency}`;
      ctx.report.add({
        section: "under load",
        measurement: `Register of ${bulk}, default pool`,
        cores: "all",
        concurrency: 1,
        p50Ms: register.ms,
        note: overlapped
          ? "one call, most keys generated on demand, all under load"
          : `one call, most keys generated on demand; load stopped after ` +
            `${ctx.options.stallWindowSeconds} s`,
      });
      ctx.report.add({
        section: "under load",
        measurement: "event-loop delay",
        cores: "all",
        p99Ms: delay.p99Ms,
        maxMs: delay.maxMs,
        note: `${under}; mean ${delay.meanMs.toFixed(2)} ms`,
      });
      ctx.report.add({
        section: "under load",
        measurement: probe.label,
        cores: "all",
        concurrency: 1,
        throughput: latencies.length / windowSeconds,
        ...health,
        note: `${latencies.length} calls, ${under}`,
      });
      ctx.report.add({
        section: "under load",
        measurement: "Refresh",
        cores: "all",
        concurrency,
        throughput: refreshed.rps,
        p50Ms: refreshed.p50Ms,
        p99Ms: refreshed.p99Ms,
        maxMs: refreshed.maxMs,
        note: `whole load run, from ${ctx.options.warmupSeconds} s before the Register`,
      });
    } finally {
      load.stop();
      await load.result.catch(() => undefined);
      probe.close();
    }
  });
}
