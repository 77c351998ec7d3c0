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
import { MasterKeyRing } from "../secrets/master-key-ring.js";
import { PrivateKeySealer } from "../secrets/private-key-sealer.js";
import { cryptoRandom, type RandomSource } from "../secrets/random.js";
import { TokenHasher } from "../secrets/token-hasher.js";
import { openStore } from "../store/open-store.js";
import type { ProviderStore } from "../store/provider-store.js";
import { HttpFrontDoor } from "../server/http-front-door.js";

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
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly store: ProviderStore;
  /** The printed development token, when the service generated its caller key. */
  readonly developmentToken: string | undefined;
  /** close stops accepting, drains calls in flight, and closes the store. */
  close(): Promise<void>;
}

// The development token outlives a working day, so a person can keep using it.
const DEVELOPMENT_TOKEN_LIFETIME_SECONDS = 12 * 3600;

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
  });

  const frontDoor = new HttpFrontDoor({
    domain,
    boundary,
    logger,
    grpcFastPath: options.grpcFastPath,
  });
  const address = await frontDoor.listen(config.host, config.port);
  const port = (address as AddressInfo).port;
  const host = config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  logger.log("info", "listening", { url, store: store.kind });

  return {
    host,
    port,
    url,
    store,
    developmentToken,
    async close() {
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
