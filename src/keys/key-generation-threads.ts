import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

import type { RsaKeyPair } from "./rsa-key-pair.js";

/** KeyGenerationThreadsOptions size the key-generation threads. */
export interface KeyGenerationThreadsOptions {
  threads: number;
  /** The nice value each thread gives itself (Linux only, where it is per thread). */
  niceness: number;
}

// Kept as source text so the same code runs from dist/ and from src/. The
// private key leaves in a fresh buffer that is moved, not copied, and the
// thread wipes its own copy, as ProviderAuth wipes the one it seals.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { generateKeyPairSync } = require("node:crypto");
const os = require("node:os");
if (process.platform === "linux") {
  try { os.setPriority(workerData.niceness); } catch {}
}
parentPort.on("message", (id) => {
  try {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "der" },
    });
    const moved = new Uint8Array(privateKey);
    privateKey.fill(0);
    parentPort.postMessage(
      { id, publicKey: publicKey.toString("base64"), privateKey: moved },
      [moved.buffer],
    );
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
`;

type Reply =
  { id: number; publicKey: string; privateKey: Uint8Array } | { id: number; error: string };

interface Pending {
  resolve: (pair: RsaKeyPair) => void;
  reject: (error: Error) => void;
}

/**
 * keyGenerationThreads sizes the pool for this machine: one core is left to
 * the event loop and the signatures, and the threads run at a lower priority,
 * so generating keys uses spare CPU and never delays a token.
 */
export function keyGenerationThreads(): KeyGenerationThreads {
  return new KeyGenerationThreads({
    threads: Math.max(1, availableParallelism() - 1),
    niceness: 10,
  });
}

/**
 * KeyGenerationThreads makes RSA-2048 key pairs on worker threads of their
 * own. Node's async generateKeyPair would queue each prime search on libuv's
 * small shared pool, where a Register of 100 holds every thread for seconds
 * and makes anything else queued there (WebCrypto's token verification, file
 * and DNS work) wait behind it.
 */
export class KeyGenerationThreads {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private readonly owner = new Map<number, Worker>();
  private readonly load = new Map<Worker, number>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: KeyGenerationThreadsOptions) {
    if (options.threads < 1) throw new Error("key generation needs at least one thread");
    this.workers = Array.from({ length: options.threads }, () => this.spawn());
  }

  /** generate returns a fresh RSA-2048 key pair with e = 65537. */
  readonly generate = (): Promise<RsaKeyPair> => {
    if (this.closed) return Promise.reject(new Error("key generation is closed"));

    const worker = this.leastBusy();
    const id = this.nextId++;
    this.owner.set(id, worker);
    this.load.set(worker, (this.load.get(worker) ?? 0) + 1);
    return new Promise<RsaKeyPair>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(id);
    });
  };

  /** close stops the threads; pairs still being generated are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { niceness: this.options.niceness },
    });
    // A pool that was never closed must not keep the process alive.
    worker.unref();
    this.load.set(worker, 0);
    worker.on("message", (reply: Reply) => this.settle(reply));
    const fail = (error: Error) => this.replace(worker, error);
    worker.once("error", fail);
    worker.once("exit", (code) => fail(new Error(`key generation thread exited with ${code}`)));
    return worker;
  }

  private settle(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    this.release(reply.id);
    if (pending === undefined) return;
    if ("error" in reply) {
      pending.reject(new Error(reply.error));
      return;
    }
    const { buffer, byteOffset, byteLength } = reply.privateKey;
    pending.resolve({
      publicKey: reply.publicKey,
      privateKeyPkcs8: Buffer.from(buffer, byteOffset, byteLength),
    });
  }

  // A thread that died takes its jobs with it: fail them, and start a fresh
  // thread in its place so later generations still have somewhere to run.
  private replace(worker: Worker, error: Error): void {
    for (const [id, owner] of [...this.owner]) {
      if (owner !== worker) continue;
      this.pending.get(id)?.reject(error);
      this.release(id);
    }
    this.load.delete(worker);
    const index = this.workers.indexOf(worker);
    if (index >= 0 && !this.closed) this.workers[index] = this.spawn();
  }

  private release(id: number): void {
    const worker = this.owner.get(id);
    this.pending.delete(id);
    this.owner.delete(id);
    if (worker !== undefined) this.load.set(worker, Math.max(0, (this.load.get(worker) ?? 1) - 1));
  }

  private leastBusy(): Worker {
    let best = this.workers[0]!;
    for (const worker of this.workers) {
      if ((this.load.get(worker) ?? 0) < (this.load.get(best) ?? 0)) best = worker;
    }
    return best;
  }
}
