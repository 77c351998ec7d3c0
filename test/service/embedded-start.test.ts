import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";

import { afterEach, describe, expect, it } from "vitest";

import { MAIN, startServiceProcess, type ServiceProcess } from "../support/service-process.js";

const run = promisify(execFile);

describe("npm start on the embedded default", () => {
  let started: ServiceProcess | undefined;
  afterEach(() => {
    started?.child.kill("SIGKILL");
    started = undefined;
  });

  it("says loudly that data is lost, and the printed example call works as printed", async () => {
    started = await startServiceProcess({}, "/Register");
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

    started = await startServiceProcess({ PROVIDER_AUTH_CALLER_PUBLIC_KEY: spki });
    expect(started.stderr()).not.toContain("TOKEN=");
  });

  it("stops on SIGTERM with exit code 0", async () => {
    started = await startServiceProcess({}, "/Register");
    expect(await started.stop()).toBe(0);
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
