import type * as http from "node:http";
import type * as http2 from "node:http2";

import { createConnectRouter, createContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";

import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { authProvidersHandlers, PEER_ADDRESS } from "../rpc/auth-providers-handlers.js";
import type { CallBoundary } from "../rpc/call-boundary.js";
import { DescriptorIndex } from "../rpc/descriptor-index.js";
import { healthHandlers } from "../rpc/health-service.js";
import type { ProviderAuthCalls } from "../rpc/provider-auth-calls.js";
import { reflectionV1alphaHandlers, reflectionV1Handlers } from "../rpc/reflection-service.js";
import { createUcloudJsonRoutes } from "../rpc/ucloud-json-routes.js";
import type { ServiceHealth } from "../service/service-health.js";
import { CorsPolicy } from "./cors-policy.js";
import { refuseMalformedRequests } from "./malformed-requests.js";

/** RequestListener answers one HTTP/1.1 or HTTP/2 request. */
export type RequestListener = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** RequestListenerOptions are everything the routes of the port need. */
export interface RequestListenerOptions {
  calls: ProviderAuthCalls;
  boundary: CallBoundary;
  health: ServiceHealth;
  corsOrigins: readonly string[];
  /** Largest request message accepted, on every protocol. */
  readMaxBytes: number;
  /** Upper bound on any client deadline. */
  maxTimeoutMs: number;
}

/** SERVED_SERVICES are the gRPC services of this server, as reflection lists them. */
export const SERVED_SERVICES = [
  AuthProvidersService,
  Health,
  reflectionV1.ServerReflection,
  reflectionV1alpha.ServerReflection,
];

/** HEALTH_WATCH_PATH is the one stream that may stay quiet as long as nothing changes. */
export const HEALTH_WATCH_PATH = `/${Health.typeName}/${Health.method.watch.name}`;

// Often enough that a probe sees a store outage within about a second of
// the cached ping expiring, rare enough to cost nothing.
const WATCH_POLL_MS = 1000;

/**
 * createRequestListener serves the API over gRPC, gRPC-Web and the Connect
 * protocol, plus UCloud's JSON routes; next to it the gRPC health and
 * reflection services, which need no credentials. CORS is decided first, so
 * browsers get the same answers as any other client. Anything else is a 404.
 */
export function createRequestListener(options: RequestListenerOptions): RequestListener {
  const cors = new CorsPolicy(options.corsOrigins);
  const descriptors = new DescriptorIndex(
    SERVED_SERVICES.map((service) => service.file),
    SERVED_SERVICES.map((service) => service.typeName),
  );
  const jsonRoutes = createUcloudJsonRoutes({
    calls: options.calls,
    boundary: options.boundary,
    readMaxBytes: options.readMaxBytes,
  });

  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    readMaxBytes: options.readMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
  });
  router.service(AuthProvidersService, authProvidersHandlers(options.calls, options.boundary));
  router.service(
    Health,
    healthHandlers({
      health: options.health,
      services: ["", AuthProvidersService.typeName],
      watchPollMs: WATCH_POLL_MS,
    }),
  );
  router.service(reflectionV1.ServerReflection, reflectionV1Handlers(descriptors));
  router.service(reflectionV1alpha.ServerReflection, reflectionV1alphaHandlers(descriptors));

  // A request whose message does not decode never reaches a handler, so the
  // boundary hears of it here.
  const handlers = new Map(
    router.handlers.map((handler) => [
      handler.requestPath,
      refuseMalformedRequests(handler, (refused) =>
        options.boundary.logRefused({
          rpc: refused.rpc,
          protocol: refused.protocol,
          peer: refused.contextValues?.get(PEER_ADDRESS) ?? "unknown",
          reason: "malformed_message",
        }),
      ),
    ]),
  );

  // No shutdown signal: it would abort the calls that shutdown lets finish.
  const connect: RequestListener = (request, response) => {
    const handler = handlers.get(request.url?.split("?", 1)[0] ?? "");
    if (handler === undefined) {
      if (jsonRoutes(request, response)) return;
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ why: "no such route", errorCode: "NOT_FOUND" }));
      return;
    }

    const values = createContextValues().set(
      PEER_ADDRESS,
      request.socket.remoteAddress ?? "unknown",
    );
    const universal = universalRequestFromNodeRequest(request, response, undefined, values);
    handler(universal)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch(() => {
        // The client went away mid-answer; there is nobody left to tell.
      });
  };

  return (request, response) => {
    if (cors.handle(request, response)) return;
    connect(request, response);
  };
}
