import { FerretDb } from "./ferretdb.js";
import { findOrInstallPeer, PEER_TOOLS } from "./install-peers.js";

/**
 * MongoPeer is the MongoDB-wire server a suite runs against: the one named
 * by `MONGODB_URI`, or a FerretDB this process started and controls (only
 * then can fault tests stop it), or none, with the reason.
 */
export type MongoPeer =
  | { available: true; uri: string; label: string; ferretDb: FerretDb | undefined }
  | { available: false; reason: string };

/** openMongoPeer finds the server for this run; it never throws, so a suite can skip instead. */
export async function openMongoPeer(): Promise<MongoPeer> {
  const uri = process.env["MONGODB_URI"];
  if (uri !== undefined && uri !== "") {
    return { available: true, uri, label: "the server in MONGODB_URI", ferretDb: undefined };
  }

  try {
    const binary = await findOrInstallPeer("ferretdb");
    const ferretDb = await FerretDb.launch(binary);
    const label = `FerretDB ${PEER_TOOLS.ferretdb.version} on port ${ferretDb.port}`;
    return { available: true, uri: ferretDb.uri, label, ferretDb };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      available: false,
      reason: `MONGODB_URI is not set and FerretDB could not be installed or started: ${detail}`,
    };
  }
}

/** reportSkip prints why a suite is skipped, so that a skip is never mistaken for a pass. */
export function reportSkip(suite: string, reason: string): void {
  process.stderr.write(`\n[skipped] ${suite}: ${reason}\n`);
}
