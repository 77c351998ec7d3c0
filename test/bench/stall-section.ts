import { apiClient, bearer, timed } from "./bench-client.js";
import { refreshRequests, sleep, withServer, type BenchContext } from "./bench-context.js";
import type { LoopDelay } from "./bench-protocol.js";
import type { BenchServer } from "./bench-server-process.js";
import { openHealthProbe, type HealthProbe } from "./health-probe.js";
import { latencySummary, type LatencySummary } from "./percentiles.js";

// Long enough for any Register to finish; the load is stopped as soon as it does.
const LOAD_CAP_SECONDS = 180;
const PROBE_INTERVAL_MS = 50;

interface Window {
  seconds: number;
  delay: LoopDelay;
  health: LatencySummary & { calls: number };
}

/**
 * stallSection puts full Refresh load on a server on all cores, with the
 * default key pool. It first measures the load alone, then registers a bulk
 * large enough to drain the pool and generate most keys on demand. In both
 * windows a probe on its own connection times a cheap call every 50 ms and
 * the server records its event-loop delay, so what key generation adds can
 * be told from what the load itself causes.
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
      // A fifth of the overlap window is enough to see what the load alone does.
      const aloneMs = (ctx.options.stallWindowSeconds * 1000) / 5;
      const alone = await measureWindow(server, probe, sleep(aloneMs));

      const bulk = ctx.options.stallBulk;
      const items = Array.from({ length: bulk }, (_, i) => ({ id: `stall-${i}` }));
      const registering = timed(() => apiClient(server.url).register({ items }, bearer(token)));
      // Key generation yields to signing, so under full load a large Register
      // can take minutes; the overlap measured is capped, then the load stops
      // and the Register finishes on an idle server.
      let overlapped = false;
      const during = await measureWindow(
        server,
        probe,
        Promise.race([
          registering.then(() => (overlapped = true)),
          sleep(ctx.options.stallWindowSeconds * 1000),
        ]),
      );
      load.stop();
      const refreshed = await load.result;
      const register = await registering;

      ctx.measured.healthUnderLoad = { label: probe.label, ...during.health };
      ctx.measured.loopDelayUnderLoad = { aloneMaxMs: alone.delay.maxMs, ...during.delay };

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
      for (const [name, window] of [
        [`Refresh at concurrency ${concurrency} alone`, alone],
        [`Refresh at concurrency ${concurrency} + Register of ${bulk}`, during],
      ] as const) {
        ctx.report.add({
          section: "under load",
          measurement: "event-loop delay",
          cores: "all",
          p99Ms: window.delay.p99Ms,
          maxMs: window.delay.maxMs,
          note:
            `${window.seconds.toFixed(1)} s of ${name}; ` +
            `mean ${window.delay.meanMs.toFixed(2)} ms`,
        });
        ctx.report.add({
          section: "under load",
          measurement: probe.label,
          cores: "all",
          concurrency: 1,
          throughput: window.health.calls / window.seconds,
          p50Ms: window.health.p50Ms,
          p99Ms: window.health.p99Ms,
          maxMs: window.health.maxMs,
          note: `${window.health.calls} calls during ${name}`,
        });
      }
      ctx.report.add({
        section: "under load",
        measurement: "Refresh",
        cores: "all",
        concurrency,
        throughput: refreshed.rps,
        p50Ms: refreshed.p50Ms,
        p99Ms: refreshed.p99Ms,
        maxMs: refreshed.maxMs,
        note: "the whole load run, both windows",
      });
    } finally {
      load.stop();
      await load.result.catch(() => undefined);
      probe.close();
    }
  });
}

// Probe every 50 ms and watch the event loop until `until` settles.
async function measureWindow(
  server: BenchServer,
  probe: HealthProbe,
  until: Promise<unknown>,
): Promise<Window> {
  await server.call("loop-delay-reset", {});
  const started = performance.now();
  const latencies: number[] = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const sent = performance.now();
      latencies.push(await probe.once());
      await sleep(Math.max(0, PROBE_INTERVAL_MS - (performance.now() - sent)));
    }
  })();

  await until;
  const seconds = (performance.now() - started) / 1000;
  probing = false;
  await probeLoop;
  const delay = await server.call("loop-delay-read", {});
  return { seconds, delay, health: { ...latencySummary(latencies), calls: latencies.length } };
}
