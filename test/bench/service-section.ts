import {
  orchestratorRequests,
  refreshRequests,
  withServer,
  type BenchContext,
  type PeakResult,
} from "./bench-context.js";
import type { BenchServer } from "./bench-server-process.js";
import type { JsonMessage, LoadResult, LoadRpc } from "./load-generator.js";
import { bestOf, runLoad } from "./load-generator.js";
import { LOAD_CORE, SERVER_CORE } from "./pinned-spawn.js";

/** Placement is where the server and the load generator run. */
interface Placement {
  cores: "1" | "all";
  server: string | undefined;
  load: string | undefined;
}

const ONE_CORE: Placement = { cores: "1", server: SERVER_CORE, load: LOAD_CORE };
// A single Node process on every core; the load generator shares them.
const ALL_CORES: Placement = { cores: "all", server: undefined, load: undefined };

interface Workload {
  rpc: LoadRpc;
  requests: JsonMessage[];
  authorization?: string;
  ids?: string[];
}

const BULK_ITEMS = 10;

// What one call costs besides its signature: RetrievePublicKey goes through
// the same transport, caller-token check, boundary and store, and signs
// nothing. Refresh with ten items a call shares that cost among ten tokens.
async function perCallCost(ctx: BenchContext, server: BenchServer, refresh: Workload) {
  const concurrency = ctx.measured.oneCore.Refresh?.concurrency ?? 16;
  const ids = refresh.ids ?? [];
  const lookup = await runLoad(ctx.load, server.target, {
    rpc: "RetrievePublicKey",
    requests: ids.map((id) => ({ id })),
    authorization: `Bearer ${server.ready.developmentToken}`,
    concurrency,
    durationS: ctx.options.loadSeconds,
    cpus: ONE_CORE.load,
  });
  addRow(ctx, ONE_CORE, "RetrievePublicKey", concurrency, lookup, "no signature: per-call cost");

  const items = refresh.requests.flatMap((r) => (r["items"] as unknown[]) ?? []);
  const bulks: JsonMessage[] = [];
  for (let i = 0; i + BULK_ITEMS <= items.length; i += BULK_ITEMS) {
    bulks.push({ items: items.slice(i, i + BULK_ITEMS) });
  }
  const bulk = await runLoad(ctx.load, server.target, {
    rpc: "Refresh",
    requests: bulks,
    concurrency,
    durationS: ctx.options.loadSeconds,
    cpus: ONE_CORE.load,
  });
  ctx.measured.oneCoreBulkTokens = bulk.rps * BULK_ITEMS;
  ctx.report.add({
    section: "service",
    measurement: `Refresh, ${BULK_ITEMS} items a call`,
    cores: "1",
    concurrency,
    throughput: bulk.rps * BULK_ITEMS,
    p50Ms: bulk.p50Ms,
    p99Ms: bulk.p99Ms,
    maxMs: bulk.maxMs,
    note: `tokens/s (${bulk.rps.toFixed(0)} calls/s)`,
  });
}

/**
 * serviceSection measures Refresh and RefreshAsOrchestrator over gRPC, one
 * item a call, at each concurrency and then at half of the peak rate; first
 * with the server pinned to one core and the load on the other, then with
 * the server on all cores. It ends with the cost of the per-call log line.
 */
export async function serviceSection(ctx: BenchContext): Promise<void> {
  for (const placement of [ONE_CORE, ALL_CORES]) {
    await withServer({ cpus: placement.server, store: "memory" }, async (server) => {
      const workloads = await prepare(server, ctx.options.serviceProviders);
      await warmUp(ctx, server, placement, workloads);
      for (const workload of workloads) {
        const peak = await sweep(ctx, server, placement, workload);
        (placement === ONE_CORE ? ctx.measured.oneCore : ctx.measured.allCores)[workload.rpc] =
          peak;
      }
      if (placement === ONE_CORE) await perCallCost(ctx, server, workloads[0]!);
    });
  }
  await logLineCost(ctx);
}

async function prepare(server: BenchServer, providers: number): Promise<Workload[]> {
  await server.waitForKeyPool(Number.MAX_SAFE_INTEGER, 60_000);
  const seeded = await server.call("seed", { count: providers });
  return [
    { rpc: "Refresh", requests: refreshRequests(seeded.refreshTokens), ids: seeded.ids },
    {
      rpc: "RefreshAsOrchestrator",
      requests: orchestratorRequests(seeded.ids),
      authorization: `Bearer ${server.ready.developmentToken}`,
    },
  ];
}

// The first seconds of a process run cold code and fill the signing-key
// cache; none of that is what the rows are about.
async function warmUp(
  ctx: BenchContext,
  server: BenchServer,
  placement: Placement,
  workloads: readonly Workload[],
): Promise<void> {
  for (const workload of workloads) {
    await runLoad(ctx.load, server.target, {
      ...workload,
      concurrency: 16,
      durationS: ctx.options.warmupSeconds,
      cpus: placement.load,
    });
  }
}

async function sweep(
  ctx: BenchContext,
  server: BenchServer,
  placement: Placement,
  workload: Workload,
): Promise<PeakResult> {
  let best: { result: LoadResult; concurrency: number } | undefined;
  for (const concurrency of ctx.options.concurrencies) {
    const result = await runLoad(ctx.load, server.target, {
      ...workload,
      concurrency,
      durationS: ctx.options.loadSeconds,
      cpus: placement.load,
    });
    addRow(ctx, placement, workload.rpc, concurrency, result, "closed loop");
    if (best === undefined || result.rps > best.result.rps) best = { result, concurrency };
  }

  // The peak concurrency once more (or more often), keeping the best run.
  const peak = best!;
  if (ctx.options.repeats > 1) {
    const again = await bestOf(ctx.options.repeats - 1, () =>
      runLoad(ctx.load, server.target, {
        ...workload,
        concurrency: peak.concurrency,
        durationS: ctx.options.loadSeconds,
        cpus: placement.load,
      }),
    );
    addRow(ctx, placement, workload.rpc, peak.concurrency, again, "closed loop, peak again");
    if (again.rps > peak.result.rps) peak.result = again;
  }

  const halfRate = peak.result.rps / 2;
  const half = await bestOf(
    ctx.options.repeats,
    () =>
      runLoad(ctx.load, server.target, {
        ...workload,
        // Enough workers that a slow answer never holds the rate back.
        concurrency: Math.max(peak.concurrency, 8),
        durationS: ctx.options.loadSeconds,
        rps: halfRate,
        cpus: placement.load,
      }),
    true,
  );
  const halfNote = `50% of peak rate${half.runs > 1 ? `, lowest p99 of ${half.runs} runs` : ""}`;
  addRow(ctx, placement, workload.rpc, `${halfRate.toFixed(0)}/s`, half, halfNote);
  return { rps: peak.result.rps, concurrency: peak.concurrency, halfLoadP99Ms: half.p99Ms };
}

function addRow(
  ctx: BenchContext,
  placement: Placement,
  rpc: LoadRpc,
  concurrency: number | string,
  result: LoadResult,
  note: string,
): void {
  const failed = result.errors > 0 ? `; ${result.errors} failed: ${result.firstError}` : "";
  // On all cores the load generator competes with the server for the same
  // cores; how much it took says how much of the machine the server had.
  const loadCpu =
    placement.cores === "all" && result.cpuSeconds !== undefined
      ? `; load took ${((result.cpuSeconds / result.seconds) * 100).toFixed(0)}% of a core`
      : "";
  ctx.report.add({
    section: "service",
    measurement: rpc,
    cores: placement.cores,
    concurrency,
    throughput: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    maxMs: result.maxMs,
    note: note + loadCpu + failed,
  });
}

// The call boundary writes one JSON line per call. Raising the level to
// "warn" drops those lines and nothing else, so the difference is their cost.
async function logLineCost(ctx: BenchContext): Promise<void> {
  const concurrency = ctx.measured.oneCore.Refresh?.concurrency ?? 16;
  const rates: Record<string, number> = {};
  for (const level of ["info", "warn"]) {
    await withServer(
      { cpus: ONE_CORE.server, store: "memory", env: { PROVIDER_AUTH_LOG_LEVEL: level } },
      async (server) => {
        const [refresh] = await prepare(server, ctx.options.serviceProviders);
        await warmUp(ctx, server, ONE_CORE, [refresh!]);
        const result = await bestOf(ctx.options.repeats, () =>
          runLoad(ctx.load, server.target, {
            ...refresh!,
            concurrency,
            durationS: ctx.options.loadSeconds,
            cpus: ONE_CORE.load,
          }),
        );
        rates[level] = result.rps;
        addRow(ctx, ONE_CORE, "Refresh", concurrency, result, `log level ${level}`);
      },
    );
  }
  const info = rates["info"]!;
  const warn = rates["warn"]!;
  const costUs = 1e6 / info - 1e6 / warn;
  ctx.report.notes.push(
    costUs > 0
      ? `call log line: ${costUs.toFixed(1)} µs of one core per call ` +
          `(${((1 - info / warn) * 100).toFixed(1)}% of one-core Refresh throughput; ` +
          "stdout to /dev/null)"
      : `call log line: too cheap to tell from noise (${info.toFixed(0)}/s with it, ` +
          `${warn.toFixed(0)}/s without; stdout to /dev/null)`,
  );
}
