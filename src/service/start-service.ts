import type { AddressInfo } from "node:net";

import type { Config } from "../config/config.js";
import { systemClock, type Clock } from "../domain/clock.js";
import { ProviderAuth } from "../domain/provider-auth.js";
import { SigningKeys } from "../domain/signing-keys.js";
import { AccessTokenSigner } from "../jwt/access-tokens.js";
import { CallerTokenVerifier, type TrustedCallerKeys } from "../jwt/caller-tokens.js";
import { createDevelopmentCaller } from "../jwt/development-caller.js";
import { rs256Signatures } from "../jwt/rs256-signatures.js";
import { createKeyPairPool, type KeyPairSource } from "../keys/key-pair-pool.js";
import type { Logger } from "../log/logger.js";
import { CallBoundary } from "../rpc/call-boundary.js";
import { providerAuthCalls } from "../rpc/provider-auth-calls.js";
import { FailureThrottle } from "../auth/failure-throttle.js";
import { MasterKeyRing } from "../secrets/master-key-ring.js";
import { PrivateKeySealer } from "../secrets/private-key-sealer.js";
import { cryptoRandom, type RandomSource } from "../secrets/random.js";
import { TokenHasher } from "../secrets/token-hasher.js";
import { openStore } from "../store/open-store.js";
import type { ProviderStore } from "../store/provider-store.js";
import { createGrpcFastPath } from "../server/grpc-fast-path.js";
import { HttpFrontDoor } from "../server/http-front-door.js";
import { createRequestListener, HEALTH_WATCH_PATH } from "../server/request-listener.js";
import { TRANSPORT_LIMITS } from "../server/transport-limits.js";
import { ServiceHealth } from "./service-health.js";

export interface StartOptions {
  logger: Logger;
  clock?: Clock;
  random?: RandomSource;
  /** A store to use instead of the one the configuration names (tests). */
  store?: ProviderStore;
  /** A key pair source to use instead of the configured pool (tests and benchmarks). */
  keyPairs?: KeyPairSource;
  /** false serves Refresh over gRPC through Connect too (tests that compare the paths). */
  grpcFastPath?: boolean;
}

/** RunningService is a started service: where it listens and how to stop it. */
export interface RunningService {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:8080, or https://... with TLS */
  readonly url: string;
  readonly store: ProviderStore;
  /** The printed development token, when the service generated its caller key. */
  readonly developmentToken: string | undefined;
  /** close stops accepting, drains calls in flight, and closes the store. */
  close(): Promise<void>;
}

// The development token outlives a working day, so a person can keep using it.
const DEVELOPMENT_TOKEN_LIFETIME_SECONDS = 12 * 3600;

// Probes come every few seconds from each load balancer; one ping a second
// at most is plenty, and a store slower than that to answer counts as down.
const HEALTH_CACHE_MS = 1000;
const HEALTH_PING_TIMEOUT_MS = 1000;

/**
 * startService builds the whole service from its configuration and starts
 * listening. With no caller key or master key configured (embedded mode only,
 * which the configuration enforces) it generates them for this process.
 */
export async function startService(config: Config, options: StartOptions): Promise<RunningService> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const { logger } = options;

  const ring = config.masterKeys ?? MasterKeyRing.generate(random);
  const { callerKeys, developmentToken } = await resolveCallerKeys(config, clock);

  const store = options.store ?? (await openStore(config));
  const sealer = new PrivateKeySealer(ring, random);
  const signatures = rs256Signatures(config.signingKeyCacheSize);
  const keyPairs = options.keyPairs ?? createKeyPairPool(config.keyPoolSize);

  const domain = new ProviderAuth({
    store,
    clock,
    random,
    hasher: new TokenHasher(ring),
    sealer,
    keyPairs,
    signingKeys: new SigningKeys(sealer, config.signingKeyCacheSize),
    signer: new AccessTokenSigner(
      { issuer: config.issuer, lifetimeSeconds: config.accessTokenTtlSeconds },
      signatures,
    ),
    policy: {
      claimRetryWindowMs: config.claimRetryWindowSeconds * 1000,
      claimTokenTtlMs: config.claimTokenTtlSeconds * 1000,
    },
  });

  const boundary = new CallBoundary({
    verifier: new CallerTokenVerifier(callerKeys, {
      issuer: config.callerIssuer,
      clockToleranceSeconds: 30,
      now: () => clock.now(),
    }),
    orchestrators: new Set(config.orchestrators),
    logger,
    clock,
    throttle: new FailureThrottle({ ...config.throttle, maxAddresses: 10_000 }),
    maxCallMs: TRANSPORT_LIMITS.maxTimeoutMs,
  });

  const health = new ServiceHealth({
    store,
    logger,
    now: () => clock.now(),
    cacheMs: HEALTH_CACHE_MS,
    pingTimeoutMs: HEALTH_PING_TIMEOUT_MS,
  });
  const calls = providerAuthCalls(domain);
  const listener = createRequestListener({
    calls,
    boundary,
    health,
    corsOrigins: config.corsOrigins,
    readMaxBytes: TRANSPORT_LIMITS.readMaxBytes,
    maxTimeoutMs: TRANSPORT_LIMITS.maxTimeoutMs,
  });
  const frontDoor = new HttpFrontDoor({
    listener,
    takeStream:
      options.grpcFastPath === false
        ? undefined
        : createGrpcFastPath({
            calls,
            boundary,
            readMaxBytes: TRANSPORT_LIMITS.readMaxBytes,
            maxTimeoutMs: TRANSPORT_LIMITS.maxTimeoutMs,
          }),
    tls: config.tls,
    longLivedPaths: new Set([HEALTH_WATCH_PATH]),
  });
  const address = await frontDoor.listen(config.host, config.port);
  const port = (address as AddressInfo).port;
  const host = config.host;
  const scheme = config.tls === undefined ? "http" : "https";
  const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;

  logger.log("info", "listening", {
    url,
    store: store.kind,
    tls: config.tls === undefined ? undefined : config.tls.clientCa === undefined ? "on" : "mtls",
    cors_origins: config.corsOrigins.length > 0 ? config.corsOrigins : undefined,
  });

  return {
    host,
    port,
    url,
    store,
    developmentToken,
    async close() {
      // Probes hear NOT_SERVING, and Watch streams end, before the port closes.
      health.stop();
      await frontDoor.close(config.shutdownGraceMs);
      keyPairs.close();
      await signatures.close();
      await store.close();
      logger.log("info", "stopped");
    },
  };
}

async function resolveCallerKeys(
  config: Config,
  clock: Clock,
): Promise<{ callerKeys: TrustedCallerKeys; developmentToken: string | undefined }> {
  if (config.callerKeys !== undefined) {
    return { callerKeys: config.callerKeys, developmentToken: undefined };
  }

  const caller = await createDevelopmentCaller(
    config.callerIssuer,
    DEVELOPMENT_TOKEN_LIFETIME_SECONDS,
    clock.now(),
  );
  return { callerKeys: { publicKey: caller.publicKey }, developmentToken: caller.token };
}
