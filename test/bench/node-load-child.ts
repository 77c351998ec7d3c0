import { readFileSync } from "node:fs";

import { fromJson, toBinary, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import {
  RefreshAsOrchestratorRequestSchema,
  RefreshRequestSchema,
} from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { FindByStringIdSchema } from "../../gen/ucloud/auth/v1/models_pb.js";
import {
  connectionsFor,
  GRPC_METHODS,
  type LoadResult,
  type LoadRpc,
  type LoadSpec,
} from "./load-generator.js";
import { latencySummary } from "./percentiles.js";

/** NodeLoadJob is what the parent hands this process, in a JSON file. */
export interface NodeLoadJob {
  target: string;
  spec: LoadSpec;
}

const REQUEST_SCHEMAS: Readonly<Record<LoadRpc, DescMessage>> = {
  Refresh: RefreshRequestSchema,
  RefreshAsOrchestrator: RefreshAsOrchestratorRequestSchema,
  RetrievePublicKey: FindByStringIdSchema,
};

const identity = (value: Buffer) => value;

/**
 * The fallback load process for machines without ghz: a @grpc/grpc-js
 * client that sends pre-encoded requests round-robin, closed-loop or at a
 * constant rate, and prints a LoadResult as JSON. SIGINT ends it early.
 */
async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as NodeLoadJob;
  const { spec } = job;
  const schema = REQUEST_SCHEMAS[spec.rpc];
  const encoded = spec.requests.map((r) =>
    Buffer.from(toBinary(schema, fromJson(schema, r as JsonValue))),
  );
  const path = `/${GRPC_METHODS[spec.rpc].replace(/\.(\w+)$/, "/$1")}`;

  // A private subchannel pool per client gives each its own connection.
  const clients = Array.from(
    { length: connectionsFor(spec.concurrency) },
    () =>
      new grpc.Client(job.target, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      }),
  );
  const metadata = new grpc.Metadata();
  if (spec.authorization !== undefined) metadata.set("authorization", spec.authorization);

  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let next = 0;
  let stopped = false;
  const started = performance.now();
  const deadline = started + spec.durationS * 1000;
  process.once("SIGINT", () => (stopped = true));

  const call = (client: grpc.Client, request: Buffer) =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      client.makeUnaryRequest(path, identity, identity, request, metadata, {}, (error) => {
        if (error === null) latencies.push(performance.now() - sent);
        else errors.set(error.message, (errors.get(error.message) ?? 0) + 1);
        resolve();
      });
    });

  const worker = async (index: number) => {
    const client = clients[index % clients.length]!;
    while (!stopped && performance.now() < deadline) {
      const k = next++;
      if (spec.rps !== undefined) {
        const due = started + (k * 1000) / spec.rps;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopped || performance.now() >= deadline) break;
      }
      await call(client, encoded[k % encoded.length]!);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker(i)));

  const seconds = (performance.now() - started) / 1000;
  const summary = latencySummary(latencies);
  const sortedErrors = [...errors].sort((a, b) => b[1] - a[1]);
  const errorCount = sortedErrors.reduce((sum, [, n]) => sum + n, 0);
  const result: LoadResult = {
    ok: latencies.length,
    errors: errorCount,
    seconds,
    rps: latencies.length / seconds,
    ...summary,
    firstError: sortedErrors[0]?.[0],
  };
  process.stdout.write(JSON.stringify(result));
  for (const client of clients) client.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`node load: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
