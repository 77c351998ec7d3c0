import { loadConfig } from "./config/config.js";
import { ConfigError } from "./config/env-readers.js";
import { jsonLineLogger } from "./log/logger.js";
import { resealPrivateKeys } from "./maintenance/reseal-private-keys.js";
import { PrivateKeySealer } from "./secrets/private-key-sealer.js";
import { cryptoRandom } from "./secrets/random.js";
import { openStore } from "./store/open-store.js";

/**
 * The `npm run reseal` entry point: after a new master key is put first in
 * the ring, re-seal every stored private key under it. It reads the same
 * configuration as the service. Exit codes: 0 done, 1 some keys would not
 * open (named in the log), 2 configuration error.
 */
async function reseal(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.mongodb === undefined || config.masterKeys === undefined) {
    throw new ConfigError(
      "reseal works on a MongoDB store: set PROVIDER_AUTH_MONGODB_URI and the master key ring",
    );
  }

  const logger = jsonLineLogger(config.logLevel);
  const store = await openStore(config);
  try {
    const sealer = new PrivateKeySealer(config.masterKeys, cryptoRandom);
    const report = await resealPrivateKeys(store, sealer, logger);
    logger.log("info", "reseal_done", {
      resealed: report.resealed,
      already_current: report.alreadyCurrent,
      broken: report.broken,
      current_master_key: config.masterKeys.current.id,
    });
    process.exitCode = report.broken.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

reseal().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`provider-auth reseal: ${message}\n`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
});
