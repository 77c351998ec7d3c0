import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { promisify } from "node:util";

import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const MAIN = resolve(import.meta.dirname, "../../dist/src/main.js");

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** startMain runs the built entry point as `npm start` does and waits for its banner. */
async function startMain(env: Record<string, string>, banner = true): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, PROVIDER_AUTH_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const deadline = Date.now() + 20_000;
  const ready = () => stdout.includes('"listening"') && (!banner || stderr.includes("/Register"));
  while (!ready() && child.exitCode === null) {
    if (Date.now() > deadline) throw new Error(`no listening line; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stdout: () => stdout, stderr: () => stderr };
}

describe("npm start on the embedded default", () => {
  let started: Started | undefined;
  afterEach(() => {
    started?.child.kill("SIGKILL");
    started = undefined;
  });

  it("says loudly that data is lost, and the printed example call works as printed", async () => {
    started = await startMain({});
    expect(started.stdout()).toContain('"event":"embedded_store"');
    expect(started.stdout()).toContain("lost when this process exits");

    // The indented lines of the banner are the commands a person pastes.
    const commands = started
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("  "));
    const { stdout } = await run("bash", ["-c", `set -e\n${commands.join("\n")}`]);
    expect(JSON.parse(stdout)).toMatchObject({ responses: [{ claimToken: expect.any(String) }] });
  });

  it("uses a configured caller key and generates no development token", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const spki = publicKey.export({ type: "spki", format: "der" }).toString("base64");

    started = await startMain({ PROVIDER_AUTH_CALLER_PUBLIC_KEY: spki }, false);
    expect(started.stderr()).not.toContain("TOKEN=");
  });

  it("stops on SIGTERM with exit code 0", async () => {
    started = await startMain({});
    started.child.kill("SIGTERM");
    const [code] = await once(started.child, "exit");
    expect(code).toBe(0);
    expect(started.stdout()).toContain('"event":"stopped"');
  });

  it("refuses a bad variable with exit code 2 and a message naming it", async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, PROVIDER_AUTH_PORT: "not-a-port" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(stderr).toContain("PROVIDER_AUTH_PORT");
  });
});
