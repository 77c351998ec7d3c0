/** KeyBulk is one Register/Renew bulk size and how many times to time it. */
export interface KeyBulk {
  bulk: number;
  warmSamples: number;
  coldSamples: number;
}

/** BenchOptions are the counts and durations of one run. */
export interface BenchOptions {
  smoke: boolean;
  /** Seconds each signing-limit measurement runs. */
  limitSeconds: number;
  /** Seconds of each measured load run. */
  loadSeconds: number;
  /** Seconds of unmeasured load after a server starts (JIT, key cache). */
  warmupSeconds: number;
  concurrencies: number[];
  /** Runs of each headline figure (peak, half-load p99, limits, scale); the best is kept. */
  repeats: number;
  /** Providers seeded for the service rows. */
  serviceProviders: number;
  keyBulks: KeyBulk[];
  /** Pool size of the warm key-generation server: at least the largest bulk. */
  warmPoolSize: number;
  /** The Register bulk that runs while full Refresh load is on. */
  stallBulk: number;
  /** The longest the Register and the load are measured together, in seconds. */
  stallWindowSeconds: number;
  scaleSizes: number[];
}

const FULL: BenchOptions = {
  smoke: false,
  limitSeconds: 3,
  loadSeconds: 5,
  warmupSeconds: 1.5,
  concurrencies: [1, 4, 16, 64],
  repeats: 2,
  serviceProviders: 1000,
  keyBulks: [
    { bulk: 1, warmSamples: 10, coldSamples: 5 },
    { bulk: 10, warmSamples: 5, coldSamples: 3 },
    { bulk: 100, warmSamples: 1, coldSamples: 1 },
  ],
  warmPoolSize: 100,
  stallBulk: 100,
  stallWindowSeconds: 15,
  scaleSizes: [1, 1000, 100_000],
};

const SMOKE: BenchOptions = {
  smoke: true,
  limitSeconds: 0.5,
  loadSeconds: 1,
  warmupSeconds: 0.5,
  concurrencies: [16],
  repeats: 1,
  serviceProviders: 50,
  keyBulks: [
    { bulk: 1, warmSamples: 1, coldSamples: 1 },
    { bulk: 10, warmSamples: 1, coldSamples: 1 },
  ],
  warmPoolSize: 10,
  stallBulk: 10,
  stallWindowSeconds: 3,
  scaleSizes: [1, 1000],
};

/** benchOptions picks smoke or full from `--smoke` or BENCH_SMOKE=1. */
export function benchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const smoke = argv.includes("--smoke") || env["BENCH_SMOKE"] === "1";
  return smoke ? SMOKE : FULL;
}
