import type { connectNodeAdapter } from "@connectrpc/connect-node";

import { cors } from "@connectrpc/connect";

// What Node hands a request listener, over HTTP/1.1 or HTTP/2 alike.
type NodeListener = ReturnType<typeof connectNodeAdapter>;
type Request = Parameters<NodeListener>[0];
type Response = Parameters<NodeListener>[1];

// Browsers may send what Connect and gRPC-Web need, plus the bearer token.
const ALLOWED_HEADERS = lowerCaseList([...cors.allowedHeaders, "authorization"]);
// Without these a gRPC-Web client cannot read the status of a failed call.
const EXPOSED_HEADERS = lowerCaseList(cors.exposedHeaders);
const ALLOWED_METHODS = cors.allowedMethods.join(", ");
// Browsers cap this anyway (Chromium at two hours); it saves a preflight per call.
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * CorsPolicy lets web pages on the configured origins call the service from a
 * browser. Requests from any other origin get no CORS headers at all, so the
 * browser refuses to hand the answer to the page.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(allowedOrigins: readonly string[]) {
    this.origins = new Set(allowedOrigins);
  }

  /**
   * handle adds CORS headers to `response` for an allowed origin, and answers
   * a preflight itself. It returns true when the request needs no more work.
   */
  handle(request: Request, response: Response): boolean {
    const origin = request.headers.origin;
    const isPreflight =
      request.method === "OPTIONS" &&
      request.headers["access-control-request-method"] !== undefined;

    // Answers differ by origin, so shared caches must key on it.
    if (this.origins.size > 0) response.setHeader("vary", "Origin");

    if (origin === undefined || !this.origins.has(origin)) {
      if (!isPreflight) return false;
      response.writeHead(403, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ why: "this origin may not call the service", errorCode: "FORBIDDEN" }),
      );
      return true;
    }

    response.setHeader("access-control-allow-origin", origin);
    if (!isPreflight) {
      response.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
      return false;
    }

    response.writeHead(204, {
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
    });
    response.end();
    return true;
  }
}

// Header names are case-insensitive; lower case is how HTTP/2 spells them.
function lowerCaseList(names: readonly string[]): string {
  return names.map((name) => name.toLowerCase()).join(", ");
}
