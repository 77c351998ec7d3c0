import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { findOrInstallPeer, PEER_TOOLS, type PeerName } from "./install-peers.js";

const run = promisify(execFile);

// Debian's packages behind the browser test and the independent verifiers.
const DEBIAN_PACKAGES = ["chromium", "python3-jwt", "python3-grpcio"];

/**
 * Before any suite runs, install every peer the suites talk to that is not
 * there yet, so that `npm test` on a fresh machine runs everything. A peer
 * that cannot be had is reported here and its tests skip with the reason;
 * nothing fails or passes silently because of it.
 */
export default async function setup(): Promise<void> {
  await installDebianPackages();

  for (const name of Object.keys(PEER_TOOLS) as PeerName[]) {
    try {
      await findOrInstallPeer(name);
    } catch (error) {
      report(`${name} could not be installed (its tests will skip): ${messageOf(error)}`);
    }
  }
}

async function installDebianPackages(): Promise<void> {
  const missing: string[] = [];
  for (const name of DEBIAN_PACKAGES) {
    await run("dpkg", ["-s", name]).catch(() => missing.push(name));
  }
  if (missing.length === 0) return;

  if (process.getuid?.() !== 0) {
    report(`Debian packages ${missing.join(", ")} are missing and this is not root: install them`);
    return;
  }
  try {
    await run("apt-get", ["update", "-qq"], { timeout: 300_000 });
    await run("apt-get", ["install", "-y", "-qq", ...missing], {
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch (error) {
    report(`apt-get could not install ${missing.join(", ")}: ${messageOf(error)}`);
  }
}

function report(line: string): void {
  process.stderr.write(`[test peers] ${line}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}
