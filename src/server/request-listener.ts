import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import type { ProviderAuth } from "../domain/provider-auth.js";
import { authProvidersHandlers, PEER_ADDRESS } from "../rpc/auth-providers-handlers.js";
import type { CallBoundary } from "../rpc/call-boundary.js";

/** RequestListener answers one HTTP/1.1 or HTTP/2 request. */
export type RequestListener = ReturnType<typeof connectNodeAdapter>;

export interface RequestListenerOptions {
  domain: ProviderAuth;
  boundary: CallBoundary;
  /** Largest request message accepted; a bulk of 1000 items fits well within 256 KiB. */
  readMaxBytes: number;
  /** Upper bound on any client deadline. */
  maxTimeoutMs: number;
  shutdownSignal?: AbortSignal;
}

/**
 * createRequestListener serves the generated service over gRPC, gRPC-Web and
 * the Connect protocol; anything else gets a plain 404.
 */
export function createRequestListener(options: RequestListenerOptions): RequestListener {
  const handlers = authProvidersHandlers(options.domain, options.boundary);

  return connectNodeAdapter({
    routes: (router) => router.service(AuthProvidersService, handlers),
    readMaxBytes: options.readMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    shutdownSignal: options.shutdownSignal,
    contextValues: (request) =>
      createContextValues().set(PEER_ADDRESS, request.socket.remoteAddress ?? "unknown"),
    fallback: (_request, response) => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ why: "no such route", errorCode: "NOT_FOUND" }));
    },
  });
}
