import { SealBrokenError, type PrivateKeySealer } from "../secrets/private-key-sealer.js";
import type { ProviderRecord, ProviderStore } from "../store/provider-store.js";
import type { Logger } from "../log/logger.js";

/** ResealReport counts what a reseal pass did. */
export interface ResealReport {
  resealed: number;
  alreadyCurrent: number;
  /** Records whose sealed key would not open: tampered or sealed under a key not in the ring. */
  broken: string[];
}

// A record that keeps changing under us is retried a few times, then left
// for the next pass: its next renew seals it under the current key anyway.
const ATTEMPTS_PER_RECORD = 3;

/**
 * resealPrivateKeys puts every provider's private key under the current
 * master key, one compare-and-set per record, so it can run while the
 * service serves. After a pass with nothing broken, an older master key is
 * no longer needed to open private keys (it may still match refresh tokens
 * issued before the rotation).
 */
export async function resealPrivateKeys(
  store: ProviderStore,
  sealer: PrivateKeySealer,
  logger: Logger,
): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, alreadyCurrent: 0, broken: [] };

  for (const listed of await store.listAll()) {
    let record: ProviderRecord | undefined = listed;
    for (let attempt = 0; record !== undefined && attempt < ATTEMPTS_PER_RECORD; attempt++) {
      if (sealer.isCurrent(record.sealedPrivateKey)) {
        report.alreadyCurrent += 1;
        break;
      }

      let pkcs8: Buffer;
      try {
        pkcs8 = sealer.open(record.id, record.keyVersion, record.sealedPrivateKey);
      } catch (error) {
        if (!(error instanceof SealBrokenError)) throw error;
        report.broken.push(record.id);
        logger.log("error", "reseal_broken_key", { provider_id: record.id, security_event: true });
        break;
      }

      const next = {
        ...record,
        version: record.version + 1,
        sealedPrivateKey: sealer.seal(record.id, record.keyVersion, pkcs8),
      };
      pkcs8.fill(0);
      if (await store.compareAndSet(record.version, next)) {
        report.resealed += 1;
        break;
      }
      [record] = await store.findByIds([listed.id]);
    }
  }
  return report;
}
