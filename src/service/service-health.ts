import type { Logger } from "../log/logger.js";
import type { ProviderStore } from "../store/provider-store.js";

/** ServingState is what a health probe learns: can this process answer calls now? */
export type ServingState = "serving" | "not_serving";

/** ServiceHealthOptions say what to ping and how often an answer is reused. */
export interface ServiceHealthOptions {
  store: Pick<ProviderStore, "ping">;
  logger: Logger;
  now: () => number;
  /** How long one ping's answer is reused, so frequent probes cost the store one ping. */
  cacheMs: number;
  /** A ping slower than this counts as a failure: a probe must not hang on the store. */
  pingTimeoutMs: number;
}

/**
 * ServiceHealth tells whether the service can serve: it can while its store
 * answers a ping and it is not shutting down. Concurrent questions share one
 * ping, and each answer is reused for a short while.
 */
export class ServiceHealth {
  private cached: { state: ServingState; at: number } | undefined;
  private pending: Promise<ServingState> | undefined;
  private readonly stopping = new AbortController();
  private lastLogged: ServingState = "serving";

  constructor(private readonly options: ServiceHealthOptions) {}

  /** stopped aborts once shutdown has begun; long-lived watchers end with it. */
  get stopped(): AbortSignal {
    return this.stopping.signal;
  }

  /** state returns the current serving state, pinging the store at most once per cache period. */
  async state(): Promise<ServingState> {
    if (this.stopping.signal.aborted) return "not_serving";

    const now = this.options.now();
    if (this.cached !== undefined && now - this.cached.at < this.options.cacheMs) {
      return this.cached.state;
    }
    this.pending ??= this.probe().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** stop reports NOT_SERVING from now on, so load balancers move away before the port closes. */
  stop(): void {
    this.stopping.abort();
  }

  private async probe(): Promise<ServingState> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error("store ping timed out")),
        this.options.pingTimeoutMs,
      );
    });

    let state: ServingState;
    let failure: string | undefined;
    try {
      await Promise.race([this.options.store.ping(), timeout]);
      state = "serving";
    } catch (error) {
      state = "not_serving";
      failure = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }

    this.cached = { state, at: this.options.now() };
    if (state !== this.lastLogged) {
      this.lastLogged = state;
      this.options.logger.log(state === "serving" ? "info" : "error", "health_changed", {
        state,
        error: failure,
      });
    }
    return state;
  }
}
