import { sign, type KeyObject } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * Rs256Signatures makes RSASSA-PKCS1-v1_5 SHA-256 signatures: the RS256 of
 * JWS, and nothing else. Where the work runs is the implementation's choice.
 */
export interface Rs256Signatures {
  /** sign returns the raw signature of the ASCII `input`. */
  sign(key: KeyObject, input: string): Promise<Buffer>;
  /** close stops any threads; signing after close fails. */
  close(): Promise<void>;
}

/**
 * inlineRs256 signs on the calling thread. On a single core nothing else
 * could run meanwhile anyway, and it skips the hand-off to a thread.
 */
export const inlineRs256: Rs256Signatures = {
  sign: async (key, input) => sign("sha256", Buffer.from(input, "latin1"), key),
  close: async () => {},
};

/** Rs256WorkerPoolOptions size a signing pool. */
export interface Rs256WorkerPoolOptions {
  threads: number;
  /** How many keys each thread keeps; match the signing-key cache. */
  keysPerThread: number;
}

/**
 * rs256Signatures picks inline signing on one core and a pool of one thread
 * per core otherwise. The event loop then only encodes tokens and moves
 * messages while the signatures, nearly all of Refresh's CPU, use every core.
 */
export function rs256Signatures(keysPerThread: number): Rs256Signatures {
  const cores = availableParallelism();
  if (cores <= 1) return inlineRs256;
  return new Rs256WorkerPool({ threads: cores, keysPerThread });
}

interface SignJob {
  id: number;
  handle: number;
  input: string;
  /** Sent with a handle's first job on a thread; later jobs name the handle only. */
  key?: KeyObject;
  /** A handle the thread should forget, to stay within keysPerThread. */
  drop?: number;
}

type SignReply = { id: number; signature: Uint8Array } | { id: number; error: string };

// Kept as source text, not a file next to this one, so that the same code
// runs whether this module was compiled to dist/ or is loaded from src/.
// Each message is a batch of jobs; each reply the batch of their results.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { sign } = require("node:crypto");
const keys = new Map();
parentPort.on("message", (jobs) => {
  const replies = [];
  for (const job of jobs) {
    if (job.drop !== undefined) keys.delete(job.drop);
    if (job.key !== undefined) keys.set(job.handle, job.key);
    try {
      const key = keys.get(job.handle);
      if (key === undefined) throw new Error("unknown key handle");
      const signature = sign("sha256", Buffer.from(job.input, "latin1"), key);
      replies.push({ id: job.id, signature });
    } catch (error) {
      replies.push({ id: job.id, error: String(error) });
    }
  }
  parentPort.postMessage(replies);
});
`;

interface Pending {
  resolve: (signature: Buffer) => void;
  reject: (error: Error) => void;
}

/** One signing thread, what it has been sent, and the jobs it still owes. */
class SigningThread {
  readonly worker: Worker;
  /** Handles this thread holds, oldest first. */
  readonly known = new Map<number, true>();
  readonly pending = new Map<number, Pending>();
  queued: SignJob[] = [];

  constructor(onReply: (thread: SigningThread, replies: SignReply[]) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    // A pool that was never closed must not keep the process alive.
    this.worker.unref();
    this.worker.on("message", (replies: SignReply[]) => onReply(this, replies));
  }
}

/**
 * Rs256WorkerPool signs on worker threads. Keys cross to a thread once (a
 * KeyObject shares its native key, so no thread re-imports or re-warms it)
 * and are named by a number afterwards. Jobs go to the thread with the
 * fewest outstanding; jobs that arrive in the same tick travel together.
 */
export class Rs256WorkerPool implements Rs256Signatures {
  private threads: SigningThread[];
  private readonly handles = new WeakMap<KeyObject, number>();
  private nextHandle = 1;
  private nextJob = 1;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly options: Rs256WorkerPoolOptions) {
    if (options.threads < 1) throw new Error("a signing pool needs at least one thread");
    this.threads = Array.from({ length: options.threads }, () => this.spawn());
  }

  sign(key: KeyObject, input: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error("the signing pool is closed"));

    const thread = this.leastBusy();
    const handle = this.handleOf(key);
    const job: SignJob = { id: this.nextJob++, handle, input };
    if (!thread.known.has(handle)) {
      job.key = key;
      thread.known.set(handle, true);
      if (thread.known.size > this.options.keysPerThread) {
        const oldest = thread.known.keys().next().value;
        if (oldest !== undefined) {
          thread.known.delete(oldest);
          job.drop = oldest;
        }
      }
    }

    return new Promise<Buffer>((resolve, reject) => {
      thread.pending.set(job.id, { resolve, reject });
      thread.queued.push(job);
      this.scheduleFlush();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private spawn(): SigningThread {
    const thread = new SigningThread((t, replies) => this.settle(t, replies));
    const fail = (error: Error) => this.replace(thread, error);
    thread.worker.once("error", fail);
    thread.worker.once("exit", (code) => fail(new Error(`signing thread exited with ${code}`)));
    return thread;
  }

  // A thread that died takes its jobs with it: fail them, and put a fresh
  // thread in its place so later signatures still have somewhere to run.
  private replace(thread: SigningThread, error: Error): void {
    const index = this.threads.indexOf(thread);
    for (const pending of thread.pending.values()) pending.reject(error);
    thread.pending.clear();
    if (index >= 0 && !this.closed) this.threads[index] = this.spawn();
  }

  private settle(thread: SigningThread, replies: SignReply[]): void {
    for (const reply of replies) {
      const pending = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      if (pending === undefined) continue;
      if ("signature" in reply) {
        const { buffer, byteOffset, byteLength } = reply.signature;
        pending.resolve(Buffer.from(buffer, byteOffset, byteLength));
      } else {
        pending.reject(new Error(reply.error));
      }
    }
  }

  private leastBusy(): SigningThread {
    let best = this.threads[0]!;
    for (const thread of this.threads) {
      if (thread.pending.size < best.pending.size) best = thread;
    }
    return best;
  }

  private handleOf(key: KeyObject): number {
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = this.nextHandle++;
      this.handles.set(key, handle);
    }
    return handle;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      for (const thread of this.threads) {
        if (thread.queued.length === 0) continue;
        thread.worker.postMessage(thread.queued);
        thread.queued = [];
      }
    });
  }
}
