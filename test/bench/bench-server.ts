import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";

import { loadConfig } from "../../src/config/config.js";
import { createKeyPairPool } from "../../src/keys/key-pair-pool.js";
import { jsonLineLogger } from "../../src/log/logger.js";
import { MasterKeyRing } from "../../src/secrets/master-key-ring.js";
import { PrivateKeySealer } from "../../src/secrets/private-key-sealer.js";
import { cryptoRandom } from "../../src/secrets/random.js";
import { TokenHasher } from "../../src/secrets/token-hasher.js";
import { startService } from "../../src/service/start-service.js";
import type {
  BenchServerOptions,
  LoopDelay,
  ServerCalls,
  ServerReady,
  ServerReply,
  ServerRequest,
  ServerStatus,
} from "./bench-protocol.js";
import { ProviderSeeder } from "./seed-providers.js";
import { storeFactory } from "./store-factories.js";

/**
 * The bench's own server entry: the real service from startService, plus an
 * IPC channel through which the bench seeds providers and reads what only the
 * process itself can see (event-loop delay, resident memory, the key pool).
 * The service's configuration comes from the environment as for main.ts.
 */
async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as BenchServerOptions;
  const send = (message: ServerReady | ServerReply) => process.send?.(message);

  // The bench must seal and hash seeded records exactly as the service does,
  // so it owns the master key ring and hands it to the service.
  const ring = MasterKeyRing.generate(cryptoRandom);
  const config = { ...loadConfig(process.env), host: "127.0.0.1", port: 0, masterKeys: ring };
  const store = await storeFactory(options.store).open(options.storeUri);
  const keyPairs = createKeyPairPool(config.keyPoolSize);
  const seeder = new ProviderSeeder({
    store,
    sealer: new PrivateKeySealer(ring, cryptoRandom),
    hasher: new TokenHasher(ring),
    random: cryptoRandom,
  });

  // 1 ms resolution: a 20 ms stall must be visible, not averaged away.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();

  const service = await startService(config, {
    logger: jsonLineLogger(config.logLevel),
    store,
    keyPairs,
  });

  let closing: Promise<void> | undefined;
  const closeOnce = () => {
    loopDelay.disable();
    closing ??= service.close();
    return closing;
  };

  const handlers: { [K in keyof ServerCalls]: (args: ServerCalls[K]["args"]) => unknown } = {
    status: (): ServerStatus => {
      const memory = process.memoryUsage();
      return {
        keyPoolReady: keyPairs.readyCount,
        keyPoolSize: config.keyPoolSize,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        seeded: seeder.count,
      };
    },
    seed: async ({ count }) => {
      const started = performance.now();
      const seeded = await seeder.seed(count, Date.now());
      return { ...seeded, seconds: (performance.now() - started) / 1000 };
    },
    "loop-delay-reset": () => {
      loopDelay.reset();
      return null;
    },
    "loop-delay-read": (): LoopDelay => ({
      maxMs: loopDelay.max / 1e6,
      p99Ms: loopDelay.percentile(99) / 1e6,
      meanMs: loopDelay.mean / 1e6,
    }),
    stop: async () => {
      await closeOnce();
      return null;
    },
  };

  process.on("message", (message: ServerRequest) => {
    const handler = handlers[message.type] as (args: unknown) => unknown;
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => send({ type: "reply", id: message.id, ok: true, result }),
        (error: unknown) =>
          send({ type: "reply", id: message.id, ok: false, error: String(error) }),
      )
      .then(() => {
        if (message.type === "stop") process.disconnect();
      });
  });
  // Whether the bench stopped us or went away, this process never outlives it.
  process.on("disconnect", () => {
    setTimeout(() => process.exit(0), 2000).unref();
    void closeOnce().finally(() => process.exit(0));
  });

  send({
    type: "ready",
    port: service.port,
    developmentToken: service.developmentToken ?? "",
    availableParallelism: availableParallelism(),
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
