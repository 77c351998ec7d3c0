import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import { FindByStringIdSchema } from "../../gen/ucloud/auth/v1/models_pb.js";

/** HealthProbe calls a cheap RPC on a connection of its own and times each call. */
export interface HealthProbe {
  /** What is being timed, for the table. */
  readonly label: string;
  /** once makes one call and returns its latency in milliseconds. */
  once(): Promise<number>;
  close(): void;
}

const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const RETRIEVE_PUBLIC_KEY = "/ucloud.auth.v1.AuthProvidersService/RetrievePublicKey";
const identity = (value: Buffer) => value;

/**
 * openHealthProbe uses grpc.health.v1.Health/Check when the server serves it
 * (an empty request asks about the whole server) and otherwise falls back to
 * RetrievePublicKey of a known provider, which touches the store but signs
 * nothing. The label says which one was timed.
 */
export async function openHealthProbe(
  target: string,
  token: string,
  providerId: string,
): Promise<HealthProbe> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);

  const call = (path: string, request: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      client.makeUnaryRequest(path, identity, identity, request, metadata, {}, (error) => {
        if (error === null) resolve(performance.now() - started);
        else reject(error);
      });
    });

  const health = await call(HEALTH_CHECK, Buffer.alloc(0)).then(
    () => true,
    (error: grpc.ServiceError) => {
      if (error.code === grpc.status.UNIMPLEMENTED) return false;
      throw error;
    },
  );
  const request = Buffer.from(
    toBinary(FindByStringIdSchema, create(FindByStringIdSchema, { id: providerId })),
  );

  return {
    label: health
      ? "grpc.health.v1.Health/Check"
      : "RetrievePublicKey (grpc.health.v1.Health not served on this branch)",
    once: () => (health ? call(HEALTH_CHECK, Buffer.alloc(0)) : call(RETRIEVE_PUBLIC_KEY, request)),
    close: () => client.close(),
  };
}
