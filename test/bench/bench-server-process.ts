import type { ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type {
  BenchServerOptions,
  ServerCalls,
  ServerCallType,
  ServerReady,
  ServerReply,
} from "./bench-protocol.js";
import { spawnPinned } from "./pinned-spawn.js";

/** ServerPlacement says which cores the server process may use. */
export interface ServerPlacement {
  /** A taskset CPU list, or undefined for all cores. */
  cpus: string | undefined;
}

/** StartServerOptions configure one bench server process. */
export interface StartServerOptions extends ServerPlacement {
  store: string;
  storeUri?: string;
  /** PROVIDER_AUTH_ variables on top of the bench's defaults. */
  env?: Record<string, string>;
}

const SERVER_ENTRY = fileURLToPath(new URL("./bench-server.js", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 120_000;

// e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile
// the server under load; Node refuses --cpu-prof in NODE_OPTIONS.
function serverNodeArgs(): string[] {
  return (process.env["BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
}

// BENCH_SERVER_STDOUT=<file> keeps the call log (and e.g. --trace-gc) for a look.
function serverStdout(): "ignore" | number {
  const path = process.env["BENCH_SERVER_STDOUT"];
  return path === undefined ? "ignore" : openSync(path, "a");
}

/**
 * BenchServer is a running bench server process: its address, the
 * development service token it printed, and its IPC calls.
 */
export class BenchServer {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: ServerReady,
  ) {
    child.on("message", (message: ServerReply) => {
      if (message.type !== "reply") return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(message.error));
    });
    child.on("exit", () => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error("server exited"));
      this.pending.clear();
    });
  }

  /** target is host:port for gRPC clients. */
  get target(): string {
    return `127.0.0.1:${this.ready.port}`;
  }

  /** url is the base URL for Connect clients. */
  get url(): string {
    return `http://${this.target}`;
  }

  /** start launches a server process and waits until it listens. */
  static async start(options: StartServerOptions): Promise<BenchServer> {
    const serverOptions: BenchServerOptions = { store: options.store, storeUri: options.storeUri };
    const child = spawnPinned(
      options.cpus,
      process.execPath,
      [...serverNodeArgs(), SERVER_ENTRY, JSON.stringify(serverOptions)],
      {
        // The service logs a JSON line per call to stdout; /dev/null keeps
        // the cost of producing it while no reader competes for a core.
        stdio: ["ignore", serverStdout(), "inherit", "ipc"],
        env: { ...process.env, PROVIDER_AUTH_LOG_LEVEL: "info", ...options.env },
      },
    );

    const ready = await new Promise<ServerReady>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("bench server did not start")),
        START_TIMEOUT_MS,
      );
      child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
      child.on("message", (message: { type?: string }) => {
        if (message.type !== "ready") return;
        clearTimeout(timer);
        resolve(message as ServerReady);
      });
    }).catch((error: unknown) => {
      child.kill("SIGKILL");
      throw error;
    });
    return new BenchServer(child, ready);
  }

  /** call sends one IPC request and waits for its reply. */
  call<K extends ServerCallType>(
    type: K,
    args: ServerCalls[K]["args"],
  ): Promise<ServerCalls[K]["result"]> {
    if (this.exited) return Promise.reject(new Error("server exited"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`bench server did not answer ${type}`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as ServerCalls[K]["result"]);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, type, args });
    });
  }

  /** waitForKeyPool polls until at least `count` key pairs are ready, or the time is up. */
  async waitForKeyPool(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const status = await this.call("status", {});
      if (status.keyPoolReady >= Math.min(count, status.keyPoolSize)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  /** stop closes the service and waits for the process to end, killing it if it hangs. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    await this.call("stop", {}).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
