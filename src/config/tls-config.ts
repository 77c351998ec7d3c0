import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

import { ConfigError, PREFIX, readString, type Env } from "./env-readers.js";

/** TlsConfig is the server's certificate and key, and whom to accept client certificates from. */
export interface TlsConfig {
  /** PEM certificate chain, the server's own certificate first. */
  cert: Buffer;
  /** PEM private key of the certificate. */
  key: Buffer;
  /** PEM CA certificates; when set, every client must present a certificate they signed. */
  clientCa: Buffer | undefined;
}

const CERT = `${PREFIX}TLS_CERT_FILE`;
const KEY = `${PREFIX}TLS_KEY_FILE`;
const CLIENT_CA = `${PREFIX}TLS_CLIENT_CA_FILE`;

/**
 * readTlsConfig reads the TLS files when they are configured, and checks now,
 * at start-up, that they parse and that the key belongs to the certificate,
 * so that a mistake names its variable instead of failing the first client.
 */
export function readTlsConfig(env: Env): TlsConfig | undefined {
  const certFile = readString(env, CERT);
  const keyFile = readString(env, KEY);
  const clientCaFile = readString(env, CLIENT_CA);

  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined) {
      throw new ConfigError(`${CLIENT_CA} needs TLS: set ${CERT} and ${KEY} as well`);
    }
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError(`${KEY} is set: set ${CERT} as well`);
  if (keyFile === undefined) throw new ConfigError(`${CERT} is set: set ${KEY} as well`);

  const cert = readPemFile(CERT, certFile);
  const key = readPemFile(KEY, keyFile);
  const certificate = parse(CERT, certFile, "a PEM certificate", () => new X509Certificate(cert));
  const privateKey = parse<KeyObject>(KEY, keyFile, "a PEM private key", () =>
    createPrivateKey(key),
  );
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`${KEY} ${JSON.stringify(keyFile)} is not the key of ${CERT}`);
  }

  let clientCa: Buffer | undefined;
  if (clientCaFile !== undefined) {
    clientCa = readPemFile(CLIENT_CA, clientCaFile);
    parse(CLIENT_CA, clientCaFile, "PEM CA certificates", () => new X509Certificate(clientCa!));
  }
  return { cert, key, clientCa };
}

function readPemFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${name} ${JSON.stringify(path)} cannot be read (${code})`);
  }
}

// The parse error itself is left out: for a key file it could quote key bytes.
function parse<T>(name: string, path: string, expected: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new ConfigError(`${name} ${JSON.stringify(path)} does not hold ${expected}`);
  }
}
