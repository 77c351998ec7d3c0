import { loadConfig } from "../../src/config/config.js";
import { jsonLineLogger } from "../../src/log/logger.js";
import { startService, type RunningService } from "../../src/service/start-service.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { newCallerKey, signCallerToken, type TestCallerKey } from "./caller-tokens.js";
import { rememberSecret, secretsFoundIn } from "./secret-ledger.js";

/** TestService is a real service on a free loopback port, with what tests need around it. */
export interface TestService {
  service: RunningService;
  callerKey: TestCallerKey;
  /** A valid token for subject `_ucloud`, role SERVICE. */
  serviceToken: string;
  /** Every line the service logged, for assertions and secret scans. */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * startTestService starts the real service on 127.0.0.1 with a free port and
 * a caller key the test holds. `env` overrides the defaults; `store` replaces
 * the configured store (to run the same tests on MongoDB or inject faults).
 */
export async function startTestService(
  options: { env?: Record<string, string>; store?: ProviderStore } = {},
): Promise<TestService> {
  const callerKey = newCallerKey();
  const logLines: string[] = [];
  const logger = jsonLineLogger("debug", (line) => logLines.push(line));

  const config = loadConfig({
    PROVIDER_AUTH_HOST: "127.0.0.1",
    PROVIDER_AUTH_PORT: "0",
    PROVIDER_AUTH_CALLER_PUBLIC_KEY: callerKey.publicKeySpki,
    PROVIDER_AUTH_KEY_POOL_SIZE: "4",
    PROVIDER_AUTH_SHUTDOWN_GRACE_MS: "2000",
    // The suites make many failed calls on purpose; the throttle has its own tests.
    PROVIDER_AUTH_THROTTLE_FAILURES: "0",
    ...options.env,
  });
  const service = await startService(config, { logger, store: options.store });

  const serviceToken = await signCallerToken(callerKey);
  rememberSecret(serviceToken);
  if (service.developmentToken !== undefined) rememberSecret(service.developmentToken);

  return {
    service,
    callerKey,
    serviceToken,
    logLines,
    // Stopping is also the moment to prove the log holds no secret that any
    // client in this test file was handed or sent.
    async close() {
      await service.close();
      const { found, checked } = secretsFoundIn(logLines);
      if (found > 0) {
        throw new Error(`${found} of ${checked} secrets handed out appear in the service log`);
      }
    },
  };
}
