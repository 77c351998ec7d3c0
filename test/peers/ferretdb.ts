import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_KEPT = 4096;

/**
 * FerretDb runs one FerretDB process over SQLite in a fresh temporary folder,
 * listening on a free port of 127.0.0.1 only. It can be stopped and started
 * again on the same port and data, which is what fault tests need, and
 * dispose removes every file it made.
 */
export class FerretDb {
  private child: ChildProcess | undefined;
  private output = "";
  private readonly killOnExit = () => this.child?.kill("SIGKILL");

  private constructor(
    private readonly binary: string,
    private readonly root: string,
    readonly port: number,
  ) {}

  /** launch starts FerretDB and resolves once it accepts connections. */
  static async launch(binary: string): Promise<FerretDb> {
    const root = await mkdtemp(join(tmpdir(), "provider-auth-ferretdb-"));
    await mkdir(join(root, "data"));
    await mkdir(join(root, "state"));

    const server = new FerretDb(binary, root, await freePort());
    try {
      await server.start();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  /** uri is the connection string of this server. */
  get uri(): string {
    return `mongodb://${HOST}:${this.port}/`;
  }

  /** start runs the process again on the same port and data; it is a no-op when running. */
  async start(): Promise<void> {
    if (this.child !== undefined) return;

    this.output = "";
    const child = spawn(
      this.binary,
      [
        "--handler=sqlite",
        `--sqlite-url=file:${join(this.root, "data")}/`,
        `--listen-addr=${HOST}:${this.port}`,
        `--state-dir=${join(this.root, "state")}`,
        "--debug-addr=-",
        // Without this FerretDB reports usage to an outside host.
        "--telemetry=disable",
        "--log-level=WARN",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-OUTPUT_KEPT);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    // A binary that cannot be run at all reports it here, not by exiting.
    child.once("error", (error) => {
      this.output += `\n${error.message}`;
      if (this.child === child) this.child = undefined;
    });

    this.child = child;
    process.once("exit", this.killOnExit);
    try {
      await this.waitUntilReady(child);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * stop ends the process and waits until it has exited and freed its port.
   * "SIGTERM" lets FerretDB wait (about 3 s) for its clients to hang up;
   * "SIGKILL" is a crash, which is what fault tests want to look like.
   */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    process.removeListener("exit", this.killOnExit);
    this.thaw();

    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    this.child = undefined;
  }

  /**
   * freeze suspends the process without closing its sockets: connections stay
   * open and requests get no answer, as with a hung server or a lost network.
   * It resolves once every thread has stopped, not merely been signalled.
   */
  async freeze(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.child?.kill("SIGSTOP");

    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!(await isStopped(pid))) {
      if (Date.now() > deadline) throw new Error(`ferretdb (pid ${pid}) did not stop`);
      await delay(10);
    }
  }

  /** thaw resumes a frozen process. */
  thaw(): void {
    this.child?.kill("SIGCONT");
  }

  /** dispose stops the server and deletes its data and state. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.root, { recursive: true, force: true });
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child !== child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`ferretdb exited before accepting connections:\n${this.output}`);
      }
      if (await accepts(this.port)) return;
      await delay(50);
    }
    throw new Error(
      `ferretdb did not accept connections within ${READY_TIMEOUT_MS} ms:\n${this.output}`,
    );
  }
}

// Linux shows a stopped thread as state "T" in /proc; elsewhere a short pause
// has to do.
async function isStopped(pid: number): Promise<boolean> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    await delay(200);
    return true;
  }
  const states = await Promise.all(
    tasks.map(async (task) => {
      const stat = await readFile(`/proc/${pid}/task/${task}/stat`, "utf8").catch(() => "");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    }),
  );
  return states.every((state) => state === "T" || state === "t" || state === "");
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

// The port is free when this returns; another process could take it before
// FerretDB binds it, in which case FerretDB exits and launch says so.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === "object" && address !== null) resolve(address.port);
        else reject(new Error("could not learn a free port"));
      });
    });
  });
}
