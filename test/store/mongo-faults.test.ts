import { createServer, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

import { MongoNetworkError, MongoNetworkTimeoutError, MongoServerError } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";

import { mongoAddress } from "../../src/store/mongo-connect.js";
import { toStoreError } from "../../src/store/mongo-errors.js";
import { connectMongoStore } from "../../src/store/mongo-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";
import { reportSkip } from "../peers/mongo-peer.js";
import { buildDomain, errorCode, nextVersionOf, sampleRecord } from "./fixtures.js";
import { startMongoSuite } from "./mongo-fixtures.js";

// Server selection is 1.5 s in these tests; a call may select twice (once
// more when the driver retries a read) and insertAll also tries to clean up.
const UNAVAILABLE_WITHIN_MS = 5000;

// A hung server is noticed by the socket timeout (2 s in that test), twice
// when the driver retries, plus a server selection.
const HUNG_WITHIN_MS = 8000;
const HUNG_CALLS = ["findByIds", "compareAndSet"];

const suite = await startMongoSuite("MongoStore faults", { probeRaces: false });
afterAll(() => suite?.close());

const canStopServer = suite?.ferretDb !== undefined;
if (suite !== undefined && !canStopServer) {
  reportSkip(
    "MongoStore faults",
    `${suite.label} is not a server these tests started, so they may not stop it`,
  );
}

describe("driver errors", () => {
  const epipe = Object.assign(new Error("This socket has been ended by the other party"), {
    code: "EPIPE",
  });

  it.each([
    ["a network error", new MongoNetworkError("connection reset")],
    ["a network timeout", new MongoNetworkTimeoutError("timed out")],
    ["a bare socket error the driver let through", epipe],
    ["a server that is no longer primary", new MongoServerError({ message: "no", code: 10107 })],
  ])("turn %s into unavailable, keeping the cause", (_, cause) => {
    const error = toStoreError(cause);

    expect(error).toMatchObject({ code: "unavailable", cause });
    expect(error.message).toBe("the provider store is unreachable; retry shortly");
  });

  it("turn a refusal by a reachable server into internal", () => {
    const refusal = new MongoServerError({ message: "bad value", code: 2 });
    expect(toStoreError(refusal)).toMatchObject({ code: "internal", cause: refusal });
  });
});

describe("connectMongoStore without a server", () => {
  it("gives up after startupTimeoutMs naming the address, never the credentials", async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await connectMongoStore({
      uri: `mongodb://operator:s3cret-pass@127.0.0.1:${port}/?authSource=admin`,
      database: "unused",
      serverSelectionTimeoutMs: 300,
      connectTimeoutMs: 300,
      startupTimeoutMs: 1200,
    }).catch((e: unknown) => e);

    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).not.toMatch(/s3cret|operator/);
  });

  it("gives up in bounded time on a server that accepts but never answers", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const started = Date.now();
      const connecting = connectMongoStore({
        uri: `mongodb://127.0.0.1:${port}/`,
        database: "unused",
        serverSelectionTimeoutMs: 300,
        connectTimeoutMs: 300,
        startupTimeoutMs: 1200,
      });

      await expect(connecting).rejects.toThrow(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("names hosts with their ports and nothing else of the URI", () => {
    expect(mongoAddress("mongodb://u:p@db1,db2:27018/auth?replicaSet=rs")).toBe(
      "db1:27017,db2:27018",
    );
    expect(mongoAddress("mongodb+srv://u:p%40ss@cluster.example.net/db")).toBe(
      "cluster.example.net",
    );
    expect(mongoAddress("mongodb://[::1]:27019")).toBe("[::1]:27019");
    expect(mongoAddress("postgres://u:p@h/db")).not.toContain("u:p");
  });
});

describe.skipIf(!canStopServer)(`MongoStore when ${suite?.label ?? "the server"} goes away`, () => {
  it("answers unavailable within a bounded time, then serves again on the same store", async () => {
    const handle = await suite!.openStore();
    const { store } = handle;
    const record = sampleRecord("fault");
    await store.insertAll([record]);

    await suite!.ferretDb!.stop("SIGKILL");
    try {
      for (const [name, call] of storeCalls(store, record)) {
        const started = Date.now();
        const error = await call().catch((e: unknown) => e);
        const elapsed = Date.now() - started;

        expect(errorCode(error), name).toBe("unavailable");
        expect((error as Error).message).toBe("the provider store is unreachable; retry shortly");
        expect(elapsed, name).toBeLessThan(UNAVAILABLE_WITHIN_MS);
      }
      const domain = buildDomain(store);
      await expect(domain.auth.renew(["fault"])).rejects.toMatchObject({ code: "unavailable" });
      domain.close();
    } finally {
      await suite!.ferretDb!.start();
    }

    expect(await store.findByIds(["fault"])).toStrictEqual([record]);
    expect(await store.compareAndSet(1, nextVersionOf(record))).toBe(true);
    await handle.dispose();
  });

  it("answers unavailable in bounded time while the server hangs, then serves again", async () => {
    const handle = await suite!.openStore({ socketTimeoutMs: 2000 });
    const { store } = handle;
    const record = sampleRecord("frozen");
    await store.insertAll([record]);

    await suite!.ferretDb!.freeze();
    try {
      const calls = storeCalls(store, record).filter(([name]) => HUNG_CALLS.includes(name));
      for (const [name, call] of calls) {
        const started = Date.now();
        const error = await call().catch((e: unknown) => e);

        expect(errorCode(error), name).toBe("unavailable");
        expect(Date.now() - started, name).toBeLessThan(HUNG_WITHIN_MS);
      }
    } finally {
      suite!.ferretDb!.thaw();
    }

    expect(await store.findByIds(["frozen"])).toStrictEqual([record]);
    await handle.dispose();
  });

  it("keeps retrying at start-up while the server is down, and connects once back", async () => {
    await suite!.ferretDb!.stop("SIGKILL");
    const connecting = suite!.openStore({ startupTimeoutMs: 15_000 });
    try {
      await delay(1000);
    } finally {
      await suite!.ferretDb!.start();
    }

    const handle = await connecting;
    await expect(handle.store.ping()).resolves.toBeUndefined();
    await handle.dispose();
  });
});

function storeCalls(
  store: ProviderStore,
  record: ReturnType<typeof sampleRecord>,
): [string, () => Promise<unknown>][] {
  return [
    ["findByIds", () => store.findByIds([record.id])],
    ["findByClaimTokenHashes", () => store.findByClaimTokenHashes([record.claimTokenHash!], 0)],
    ["findByRefreshTokenHashes", () => store.findByRefreshTokenHashes(["h"])],
    ["findByRetiredRefreshTokenHashes", () => store.findByRetiredRefreshTokenHashes(["h"])],
    ["compareAndSet", () => store.compareAndSet(1, nextVersionOf(record))],
    ["insertAll", () => store.insertAll([sampleRecord("new-1"), sampleRecord("new-2")])],
    ["listAll", () => store.listAll()],
    ["ping", () => store.ping()],
  ];
}

// A port nothing listens on: bound once to learn it, then released.
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === "object" && address !== null) resolve(address.port);
        else reject(new Error("could not learn a free port"));
      });
    });
  });
}
