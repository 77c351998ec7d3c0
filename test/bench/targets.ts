import type { BenchContext } from "./bench-context.js";
import { formatMs } from "./bench-report.js";
import { percentile } from "./percentiles.js";

const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;

/**
 * checkTargets compares what the run measured with the service's
 * performance targets. A missed target is reported, never thrown: the
 * bench measures, it does not gate.
 */
export function checkTargets(ctx: BenchContext): void {
  const { measured, report } = ctx;
  const oneCore = measured.oneCore.Refresh;
  const allCores = measured.allCores.Refresh;

  if (oneCore !== undefined && measured.limitOneCore !== undefined) {
    const ratio = oneCore.rps / measured.limitOneCore;
    const bulk =
      measured.oneCoreBulkTokens === undefined
        ? ""
        : `; 10 items a call: ${percent(measured.oneCoreBulkTokens / measured.limitOneCore)}`;
    report.check(
      "Refresh, 1 core, memory: >= 75% of the 1-core signing limit",
      `${oneCore.rps.toFixed(0)}/s = ${percent(ratio)} of ${measured.limitOneCore.toFixed(0)}/s` +
        ` (1 item a call)${bulk}`,
      ratio >= 0.75,
    );
  }
  if (oneCore !== undefined && allCores !== undefined) {
    const ratio = allCores.rps / oneCore.rps;
    const limitRatio =
      measured.limitAllCores === undefined
        ? ""
        : `; ${percent(allCores.rps / measured.limitAllCores)} of the all-core limit`;
    report.check(
      "Refresh, all cores: >= 1.6x the 1-core figure",
      `${allCores.rps.toFixed(0)}/s = ${ratio.toFixed(2)}x${limitRatio}`,
      ratio >= 1.6,
    );
  }
  for (const [cores, peak] of [
    ["1 core", oneCore],
    ["all cores", allCores],
  ] as const) {
    if (peak === undefined) continue;
    report.check(
      `Refresh p99 at half of peak (${cores}, memory): <= 5 ms`,
      `${formatMs(peak.halfLoadP99Ms)} ms at ${(peak.rps / 2).toFixed(0)}/s`,
      peak.halfLoadP99Ms <= 5,
    );
  }

  const warmTen = measured.register["warm|10"];
  report.check(
    "Register of 10, warm pool: p50 <= 50 ms",
    warmTen === undefined
      ? "not run"
      : `${formatMs(
          percentile(
            [...warmTen].sort((a, b) => a - b),
            50,
          ),
        )} ms`,
    warmTen === undefined
      ? undefined
      : percentile(
          [...warmTen].sort((a, b) => a - b),
          50,
        ) <= 50,
  );
  report.check(
    "event loop never stalls > 20 ms during key generation (Register/Renew, no other load)",
    `max ${formatMs(measured.keyGenerationLoopDelayMaxMs)} ms`,
    measured.keyGenerationLoopDelayMaxMs <= 20,
  );
  const underLoad = measured.loopDelayUnderLoad;
  report.check(
    "event loop never stalls > 20 ms during key generation under full Refresh load",
    underLoad === undefined
      ? "not run"
      : `max ${formatMs(underLoad.maxMs)} ms, p99 ${formatMs(underLoad.p99Ms)} ms ` +
          `(load alone: max ${formatMs(underLoad.aloneMaxMs)} ms)`,
    underLoad === undefined ? undefined : underLoad.maxMs <= 20,
  );
  const health = measured.healthUnderLoad;
  report.check(
    "health answers within 100 ms under full load",
    health === undefined
      ? "not run"
      : `${health.label}: max ${formatMs(health.maxMs)} ms, p99 ${formatMs(health.p99Ms)} ms`,
    health === undefined ? undefined : health.maxMs <= 100,
  );

  for (const [store, label] of [
    ["memory", "memory"],
    ["mongodb", "FerretDB"],
  ] as const) {
    const small = measured.scale[`${store}|1000`];
    const large = measured.scale[`${store}|100000`];
    const measuredBoth = small !== undefined && large !== undefined;
    report.check(
      `Refresh at 100 000 providers within 20% of 1 000 (${label})`,
      measuredBoth
        ? `${large.toFixed(0)}/s vs ${small.toFixed(0)}/s = ${percent(large / small)}`
        : store === "mongodb" && small !== undefined
          ? `not measured at 100 000; 1 000 providers: ${small.toFixed(0)}/s ` +
            `(1 provider: ${(measured.scale[`${store}|1`] ?? NaN).toFixed(0)}/s)`
          : "not measured in this run",
      measuredBoth ? large >= 0.8 * small : undefined,
    );
  }
}
