import { loadConfig } from "./config/config.js";
import { ConfigError } from "./config/env-readers.js";
import { jsonLineLogger } from "./log/logger.js";
import { developmentBanner } from "./service/development-banner.js";
import { startService } from "./service/start-service.js";

/**
 * The process entry point: read the configuration, start the service, and
 * stop it cleanly on SIGTERM or SIGINT. Exit codes: 0 after a clean stop,
 * 2 for a configuration error, 1 for any other failure to start.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`provider-auth: configuration error: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }

  const logger = jsonLineLogger(config.logLevel);
  if (config.mongodb === undefined) {
    logger.log("warn", "embedded_store", {
      detail:
        "no MongoDB configured: running on the in-memory store; every provider, key and " +
        "token is lost when this process exits",
    });
  }

  let service;
  try {
    service = await startService(config, { logger });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (
      code !== "EADDRINUSE" &&
      code !== "EADDRNOTAVAIL" &&
      code !== "ENOTFOUND" &&
      code !== "EACCES"
    ) {
      throw error;
    }
    process.stderr.write(
      `provider-auth: cannot listen on ${config.host}:${config.port} (${code}); check ` +
        "PROVIDER_AUTH_HOST and PROVIDER_AUTH_PORT\n",
    );
    process.exitCode = 2;
    return;
  }
  if (service.developmentToken !== undefined) {
    process.stderr.write(developmentBanner(service.url, service.developmentToken));
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log("info", "stopping", { signal });
    service.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.log("error", "stop_failed", { error: String(error) });
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`provider-auth: failed to start: ${message}\n`);
  process.exitCode = 1;
});
