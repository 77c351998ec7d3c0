import { bearer, apiClient, timed } from "./bench-client.js";
import { withServer, type BenchContext } from "./bench-context.js";
import type { BenchServer } from "./bench-server-process.js";
import { latencySummary } from "./percentiles.js";

type PoolState = "warm" | "cold";

// A warm pool refills one pair at a time (about 0.15 s of CPU each); waiting
// for a refill of 100 must not be mistaken for a hang.
const POOL_WAIT_MS = 120_000;

/**
 * keyGenerationSection times Register and Renew of 1, 10 and 100 providers,
 * with the pool holding enough pairs (warm) and with no pool at all (cold),
 * and records the event-loop delay of the server during each call.
 */
export async function keyGenerationSection(ctx: BenchContext): Promise<void> {
  for (const state of ["warm", "cold"] as const) {
    const poolSize = state === "warm" ? ctx.options.warmPoolSize : 0;
    await withServer(
      { cpus: undefined, store: "memory", env: { PROVIDER_AUTH_KEY_POOL_SIZE: String(poolSize) } },
      (server) => timeBulks(ctx, server, state),
    );
  }
}

async function timeBulks(ctx: BenchContext, server: BenchServer, state: PoolState) {
  const client = apiClient(server.url);
  const auth = bearer(server.ready.developmentToken);
  let next = 0;
  // Open the connection first, so no sample pays for the HTTP/2 handshake.
  await client.retrievePublicKey({ id: "not-registered" }, auth).catch(() => undefined);

  for (const { bulk, warmSamples, coldSamples } of ctx.options.keyBulks) {
    const samples = state === "warm" ? warmSamples : coldSamples;
    const times = { Register: [] as number[], Renew: [] as number[] };
    let loopDelayMaxMs = 0;

    const call = async (rpc: "Register" | "Renew", ids: string[]) => {
      if (state === "warm" && !(await server.waitForKeyPool(bulk, POOL_WAIT_MS))) {
        throw new Error(`the key pool did not fill to ${bulk} in time`);
      }
      await server.call("loop-delay-reset", {});
      const items = ids.map((id) => ({ id }));
      const { ms } = await timed(async () => {
        if (rpc === "Register") await client.register({ items }, auth);
        else await client.renew({ items }, auth);
      });
      const delay = await server.call("loop-delay-read", {});
      loopDelayMaxMs = Math.max(loopDelayMaxMs, delay.maxMs);
      times[rpc].push(ms);
    };

    for (let s = 0; s < samples; s++) {
      const ids = Array.from({ length: bulk }, () => `keygen-${next++}`);
      await call("Register", ids);
      await call("Renew", ids);
    }

    ctx.measured.keyGenerationLoopDelayMaxMs = Math.max(
      ctx.measured.keyGenerationLoopDelayMaxMs,
      loopDelayMaxMs,
    );
    for (const rpc of ["Register", "Renew"] as const) {
      if (rpc === "Register") ctx.measured.register[`${state}|${bulk}`] = times.Register;
      const summary = latencySummary(times[rpc]);
      ctx.report.add({
        section: "key generation",
        measurement: `${rpc} of ${bulk}, pool ${state}`,
        cores: "all",
        concurrency: 1,
        p50Ms: summary.p50Ms,
        p99Ms: summary.p99Ms,
        maxMs: summary.maxMs,
        note:
          `${samples} sample${samples === 1 ? "" : "s"}; ` +
          `event-loop delay max ${loopDelayMaxMs.toFixed(1)} ms` +
          (state === "warm" ? `; pool size ${ctx.options.warmPoolSize}` : "; pool size 0"),
      });
    }
  }
}
