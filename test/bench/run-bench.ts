import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join } from "node:path";

import type { BenchContext } from "./bench-context.js";
import { benchOptions } from "./bench-options.js";
import { BenchReport } from "./bench-report.js";
import { repoRoot } from "../peers/install-peers.js";
import { findGhz, GhzLoad } from "./ghz-load.js";
import { keyGenerationSection } from "./key-generation-section.js";
import { limitSection } from "./limit-section.js";
import type { LoadGenerator } from "./load-generator.js";
import { NodeLoad } from "./node-load.js";
import { hasTaskset } from "./pinned-spawn.js";
import { scaleSection } from "./scale-section.js";
import { serviceSection } from "./service-section.js";
import { stallSection } from "./stall-section.js";
import { checkTargets } from "./targets.js";

const REPO_ROOT = repoRoot();
const OUTPUT_DIR = join(REPO_ROOT, ".cache", "bench");
/** Where each run leaves its table as JSON (git-ignored with the rest of .cache/). */
export const LATEST_JSON = join(OUTPUT_DIR, "latest.json");

const SECTIONS = [
  ["signing limit", limitSection],
  ["service", serviceSection],
  ["key generation", keyGenerationSection],
  ["under load", stallSection],
  ["scale", scaleSection],
] as const;

/**
 * The benchmark: every section in turn, then the target checks, the table
 * on stdout and the same as JSON in .cache/bench/latest.json. Progress goes
 * to stderr. `--smoke` (or BENCH_SMOKE=1) runs seconds and small counts.
 * BENCH_LOAD=node forces the @grpc/grpc-js load process instead of ghz.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const options = benchOptions(process.argv.slice(2), process.env);
  const report = new BenchReport();
  const ctx: BenchContext = {
    options,
    report,
    load: await loadGenerator(options.smoke),
    cores: availableParallelism(),
    measured: {
      oneCore: {},
      allCores: {},
      register: {},
      keyGenerationLoopDelayMaxMs: 0,
      scale: {},
    },
  };

  report.notes.push(
    `mode: ${options.smoke ? "smoke" : "full"}; ${ctx.cores} cores (${cpus()[0]?.model ?? "?"}); ` +
      `node ${process.version}; load generator: ${ctx.load.description}`,
  );
  report.notes.push(`load average before the run: ${loadAverage()}`);
  if (!hasTaskset()) report.notes.push("taskset not found: nothing was pinned to a core");
  if (ctx.cores < 2) report.notes.push("one core only: server and load share it in every row");

  for (const [name, section] of SECTIONS) {
    const sectionStarted = performance.now();
    process.stderr.write(`bench: ${name}\n`);
    await section(ctx);
    const seconds = (performance.now() - sectionStarted) / 1000;
    process.stderr.write(`bench: ${name} done in ${seconds.toFixed(0)} s\n`);
  }
  checkTargets(ctx);

  const totalSeconds = (performance.now() - started) / 1000;
  report.notes.push(
    `whole run: ${totalSeconds.toFixed(0)} s; load average after: ${loadAverage()} ` +
      "(other processes on this machine add noise to every figure)",
  );
  const table = report.table();
  process.stdout.write(`${table}\n`);

  mkdirSync(OUTPUT_DIR, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    mode: options.smoke ? "smoke" : "full",
    cores: ctx.cores,
    node: process.version,
    loadGenerator: ctx.load.description,
    seconds: totalSeconds,
    rows: report.rows,
    targets: report.targets,
    notes: report.notes,
    table,
  };
  writeFileSync(LATEST_JSON, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${LATEST_JSON}\n`);
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

// ghz when it is there (or can be built, outside smoke runs, which must stay
// quick); otherwise a Node load process, which needs nothing more.
async function loadGenerator(smoke: boolean): Promise<LoadGenerator> {
  const scratch = join(OUTPUT_DIR, "tmp");
  if (process.env["BENCH_LOAD"] === "node") return new NodeLoad(scratch, "BENCH_LOAD=node");
  const ghz = await findGhz(!smoke);
  if (ghz !== undefined) return new GhzLoad(ghz, REPO_ROOT, scratch);
  return new NodeLoad(
    scratch,
    smoke ? "ghz not found; smoke runs do not build it" : "ghz not found",
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
