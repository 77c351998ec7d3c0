import { fileURLToPath } from "node:url";

import type { BenchContext } from "./bench-context.js";
import { SERVER_CORE, spawnPinned } from "./pinned-spawn.js";
import type { SignLimitResult } from "./sign-limit-child.js";

const CHILD_ENTRY = fileURLToPath(new URL("./sign-limit-child.js", import.meta.url));

/**
 * limitSection measures what RSA-2048 signing alone allows: synchronous
 * crypto.sign on a JWT-sized input, one thread pinned to one core, then one
 * worker thread per core. The service can at best approach these figures.
 */
export async function limitSection(ctx: BenchContext): Promise<void> {
  const seconds = ctx.options.limitSeconds;
  // Best of the repeats: other processes on the machine only slow it down.
  const best = async (cpus: string | undefined, threads: number) => {
    let top = await runSignLimit(cpus, threads, seconds);
    for (let i = 1; i < ctx.options.repeats; i++) {
      const next = await runSignLimit(cpus, threads, seconds);
      if (next.perSecond > top.perSecond) top = next;
    }
    return top;
  };
  const one = await best(SERVER_CORE, 1);
  const all = await best(undefined, ctx.cores);
  ctx.measured.limitOneCore = one.perSecond;
  ctx.measured.limitAllCores = all.perSecond;

  const measurement = `crypto.sign RS256, ${one.inputBytes}-byte input`;
  ctx.report.add({
    section: "limit",
    measurement,
    cores: "1",
    concurrency: "1 thread",
    throughput: one.perSecond,
  });
  ctx.report.add({
    section: "limit",
    measurement,
    cores: "all",
    concurrency: `${all.threads} threads`,
    throughput: all.perSecond,
    note: `${(all.perSecond / one.perSecond).toFixed(2)}x one core`,
  });
}

function runSignLimit(
  cpus: string | undefined,
  threads: number,
  seconds: number,
): Promise<SignLimitResult> {
  const child = spawnPinned(
    cpus,
    process.execPath,
    [CHILD_ENTRY, String(threads), String(seconds)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let stdout = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as SignLimitResult);
      else reject(new Error(`signing limit process exited with ${code}`));
    });
  });
}
