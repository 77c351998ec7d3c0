import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";

/** SERVICE_PATH is where the Connect and gRPC routes of the API live. */
export const SERVICE_PATH = "/ucloud.auth.v1.AuthProvidersService";

/** HttpAnswer is an HTTP status and the body, parsed as JSON when it is JSON. */
export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
}

/**
 * httpRequest sends one request to the service with fetch, with a time
 * bound, and reads the answer whole.
 */
export async function httpRequest(
  url: string,
  init: { method?: string; body?: string | Uint8Array; contentType?: string; token?: string },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (init.contentType !== undefined) headers["content-type"] = init.contentType;
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(url, {
    method: init.method ?? "POST",
    headers,
    body: init.body,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** connectJson posts a raw JSON text to one RPC over the Connect protocol. */
export function connectJson(
  baseUrl: string,
  rpc: string,
  json: string,
  token?: string,
): Promise<HttpAnswer> {
  return httpRequest(`${baseUrl}${SERVICE_PATH}/${rpc}`, {
    body: json,
    contentType: "application/json",
    token,
  });
}

/** GrpcAnswer is the outcome of a raw gRPC call: a status code name, details and bytes. */
export interface GrpcAnswer {
  code: string;
  details: string;
  bytes: Buffer | undefined;
}

/**
 * rawGrpcCall sends `bytes` as the message of a unary gRPC call, framed by
 * grpc-js but otherwise untouched, and returns the status it ends with.
 */
export function rawGrpcCall(
  client: grpc.Client,
  path: string,
  bytes: Buffer,
  token?: string,
): Promise<GrpcAnswer> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (message: Buffer) => message,
      (answer: Buffer) => answer,
      bytes,
      metadata,
      { deadline: Date.now() + 20_000 },
      (error, answer) => {
        if (error !== null) {
          resolve({ code: grpc.status[error.code] ?? "UNKNOWN", details: error.details, bytes });
        } else {
          resolve({ code: "OK", details: "", bytes: answer });
        }
      },
    );
  });
}

/** grpcHealthCheck asks grpc.health.v1.Health/Check about the whole server over raw gRPC. */
export async function grpcHealthCheck(client: grpc.Client): Promise<string> {
  const request = Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema)));
  const answer = await rawGrpcCall(client, "/grpc.health.v1.Health/Check", request);
  if (answer.code !== "OK" || answer.bytes === undefined) {
    throw new Error(`health check answered ${answer.code}: ${answer.details}`);
  }
  return ServingStatus[fromBinary(HealthCheckResponseSchema, answer.bytes).status] ?? "unknown";
}

/**
 * KeyServer is a loopback HTTP server that a forged token points at (jku,
 * x5u); it counts the requests it gets, which must stay at zero.
 */
export interface KeyServer {
  url: string;
  requests(): number;
  close(): Promise<void>;
}

/** startKeyServer serves `jwks` to anyone who asks, and counts who did. */
export async function startKeyServer(jwks: object): Promise<KeyServer> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests += 1;
    request.resume();
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
