import { readFileSync } from "node:fs";

import type { JSONWebKeySet } from "jose";

import { DEFAULT_ORCHESTRATORS } from "../auth/call-policy.js";
import { SIGNING_KEY_CACHE_ENTRIES } from "../domain/signing-keys.js";
import { LOG_LEVELS, type LogLevel } from "../log/logger.js";
import { MasterKeyRing } from "../secrets/master-key-ring.js";
import {
  checkTrustedCallerKeys,
  TrustedKeyError,
  type TrustedCallerKeys,
} from "../jwt/caller-tokens.js";
import {
  ConfigError,
  PREFIX,
  readChoice,
  readInteger,
  readList,
  readString,
  type Env,
} from "./env-readers.js";
import { readTlsConfig, type TlsConfig } from "./tls-config.js";

/** Config is the whole, validated configuration of one service process. */
export interface Config {
  host: string;
  port: number;
  mongodb:
    { uri: string; database: string; timeoutMs: number; startupTimeoutMs: number } | undefined;
  /** Trusted caller keys, or undefined to generate a development caller. */
  callerKeys: TrustedCallerKeys | undefined;
  callerIssuer: string;
  issuer: string;
  accessTokenTtlSeconds: number;
  claimRetryWindowSeconds: number;
  claimTokenTtlSeconds: number;
  orchestrators: string[];
  /** The master key ring, or undefined to generate one for the embedded mode. */
  masterKeys: MasterKeyRing | undefined;
  keyPoolSize: number;
  /** How many providers' imported private keys are kept (about 6 KiB each once used). */
  signingKeyCacheSize: number;
  throttle: { burst: number; windowSeconds: number };
  logLevel: LogLevel;
  shutdownGraceMs: number;
  /** Web origins whose pages may call the service from a browser; none by default. */
  corsOrigins: string[];
  /** With TLS set, the port serves HTTPS only (HTTP/2 and HTTP/1.1 by ALPN). */
  tls: TlsConfig | undefined;
}

/**
 * loadConfig reads and checks every `PROVIDER_AUTH_` variable. A bad value
 * throws a ConfigError that names the variable and never echoes a secret.
 */
export function loadConfig(env: Env): Config {
  const mongodbUri = readMongoUri(env);
  const callerKeys = readCallerKeys(env);
  const masterKeys = readMasterKeys(env);

  // A real database outlives the process, so nothing may be generated for it:
  // generated keys would die with the process and orphan every record.
  if (mongodbUri !== undefined) {
    const missing = [
      masterKeys === undefined ? `${PREFIX}MASTER_KEYS (or ${PREFIX}MASTER_KEYS_FILE)` : "",
      callerKeys === undefined
        ? `a trusted caller key (${PREFIX}CALLER_PUBLIC_KEY, ${PREFIX}CALLER_JWKS_FILE ` +
          `or ${PREFIX}CALLER_SHARED_SECRET)`
        : "",
    ].filter((m) => m !== "");
    if (missing.length > 0) {
      throw new ConfigError(`with a MongoDB store configured, set ${missing.join(" and ")}`);
    }
  }

  return {
    host: readString(env, `${PREFIX}HOST`) ?? "127.0.0.1",
    port: readInteger(env, `${PREFIX}PORT`, 8080, { min: 0, max: 65535 }),
    mongodb:
      mongodbUri === undefined
        ? undefined
        : {
            uri: mongodbUri,
            database: readDatabaseName(env),
            timeoutMs: readInteger(env, `${PREFIX}MONGODB_TIMEOUT_MS`, 3000, {
              min: 100,
              max: 60_000,
            }),
            startupTimeoutMs: readInteger(env, `${PREFIX}MONGODB_STARTUP_TIMEOUT_MS`, 30_000, {
              min: 0,
              max: 600_000,
            }),
          },
    callerKeys,
    callerIssuer: readString(env, `${PREFIX}CALLER_ISSUER`) ?? "cloud.sdu.dk",
    issuer: readString(env, `${PREFIX}ISSUER`) ?? "cloud.sdu.dk",
    accessTokenTtlSeconds: readInteger(env, `${PREFIX}ACCESS_TOKEN_TTL_SECONDS`, 600, {
      min: 30,
      max: 86_400,
    }),
    claimRetryWindowSeconds: readInteger(env, `${PREFIX}CLAIM_RETRY_WINDOW_SECONDS`, 300, {
      min: 0,
      max: 86_400,
    }),
    claimTokenTtlSeconds: readInteger(env, `${PREFIX}CLAIM_TOKEN_TTL_SECONDS`, 7 * 86_400, {
      min: 60,
      max: 365 * 86_400,
    }),
    orchestrators: readList(env, `${PREFIX}ORCHESTRATORS`, DEFAULT_ORCHESTRATORS),
    masterKeys,
    keyPoolSize: readInteger(env, `${PREFIX}KEY_POOL_SIZE`, 8, { min: 0, max: 1000 }),
    signingKeyCacheSize: readInteger(
      env,
      `${PREFIX}SIGNING_KEY_CACHE_SIZE`,
      SIGNING_KEY_CACHE_ENTRIES,
      { min: 1, max: 1_000_000 },
    ),
    throttle: {
      burst: readInteger(env, `${PREFIX}THROTTLE_FAILURES`, 20, { min: 0, max: 1_000_000 }),
      windowSeconds: readInteger(env, `${PREFIX}THROTTLE_WINDOW_SECONDS`, 60, {
        min: 1,
        max: 86_400,
      }),
    },
    logLevel: readChoice(env, `${PREFIX}LOG_LEVEL`, LOG_LEVELS, "info"),
    shutdownGraceMs: readInteger(env, `${PREFIX}SHUTDOWN_GRACE_MS`, 10_000, {
      min: 0,
      max: 300_000,
    }),
    corsOrigins: readOrigins(env),
    tls: readTlsConfig(env),
  };
}

// An origin is compared byte for byte with the browser's Origin header, so
// only the exact form "scheme://host[:port]" can ever match.
function readOrigins(env: Env): string[] {
  const name = `${PREFIX}CORS_ORIGINS`;
  const origins = readList(env, name, []);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
      throw new ConfigError(
        `${name} entry ${JSON.stringify(origin)} is not an origin: write it as ` +
          "https://host or http://host:port, with no path, no trailing slash and no wildcard",
      );
    }
  }
  return origins;
}

function readCallerKeys(env: Env): TrustedCallerKeys | undefined {
  const publicKey = readString(env, `${PREFIX}CALLER_PUBLIC_KEY`);
  const jwksFile = readString(env, `${PREFIX}CALLER_JWKS_FILE`);
  const sharedSecret = readString(env, `${PREFIX}CALLER_SHARED_SECRET`);

  if (sharedSecret !== undefined && Buffer.byteLength(sharedSecret) < 32) {
    throw new ConfigError(
      `${PREFIX}CALLER_SHARED_SECRET must be at least 32 bytes: a shorter HS512 secret ` +
        "can be guessed offline from any token signed with it",
    );
  }
  const jwks = jwksFile === undefined ? undefined : readJwksFile(jwksFile);

  if (publicKey === undefined && jwks === undefined && sharedSecret === undefined) return undefined;

  const keys = { publicKey, jwks, sharedSecret };
  try {
    checkTrustedCallerKeys(keys);
  } catch (error) {
    if (!(error instanceof TrustedKeyError)) throw error;
    const variable = {
      publicKey: "CALLER_PUBLIC_KEY",
      jwks: "CALLER_JWKS_FILE",
      sharedSecret: "CALLER_SHARED_SECRET",
    }[error.source];
    throw new ConfigError(`${PREFIX}${variable} ${error.message}`);
  }
  return keys;
}

function readJwksFile(path: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `${PREFIX}CALLER_JWKS_FILE ${JSON.stringify(path)} is not a readable JSON file: ` +
        (error instanceof Error ? error.message : String(error)),
    );
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`${PREFIX}CALLER_JWKS_FILE must hold {"keys": [ ... ]} with a key`);
  }
  return parsed as JSONWebKeySet;
}

function readMasterKeys(env: Env): MasterKeyRing | undefined {
  const inline = readString(env, `${PREFIX}MASTER_KEYS`);
  const file = readString(env, `${PREFIX}MASTER_KEYS_FILE`);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(`set ${PREFIX}MASTER_KEYS or ${PREFIX}MASTER_KEYS_FILE, not both`);
  }

  const name = inline !== undefined ? `${PREFIX}MASTER_KEYS` : `${PREFIX}MASTER_KEYS_FILE`;
  let text = inline;
  if (file !== undefined) {
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new ConfigError(`${name} ${JSON.stringify(file)} cannot be read`);
    }
  }
  if (text === undefined) return undefined;

  try {
    return MasterKeyRing.parse(text);
  } catch (error) {
    throw new ConfigError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readMongoUri(env: Env): string | undefined {
  const own = readString(env, `${PREFIX}MONGODB_URI`);
  const name = own !== undefined ? `${PREFIX}MONGODB_URI` : "MONGODB_URI";
  const uri = own ?? readString(env, "MONGODB_URI");

  if (uri !== undefined && !/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new ConfigError(`${name} must start with mongodb:// or mongodb+srv://`);
  }
  return uri;
}

function readDatabaseName(env: Env): string {
  const name = readString(env, `${PREFIX}MONGODB_DATABASE`) ?? "provider_auth";
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) {
    throw new ConfigError(`${PREFIX}MONGODB_DATABASE must be 1 to 63 letters, digits, '_' or '-'`);
  }
  return name;
}
