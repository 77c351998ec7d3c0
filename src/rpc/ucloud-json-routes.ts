import type { connectNodeAdapter } from "@connectrpc/connect-node";

import type { RpcName } from "../auth/call-policy.js";
import {
  DomainError,
  isDomainError,
  internalError,
  type DomainErrorCode,
} from "../domain/errors.js";
import type { CallBoundary, CallRecord } from "./call-boundary.js";
import type { ProviderAuthCalls } from "./provider-auth-calls.js";
import {
  bulkRequest,
  emptyRequest,
  JsonRequestError,
  readJsonBody,
  singleQueryParameter,
} from "./ucloud-json-body.js";

// What Node hands a request listener, over HTTP/1.1 or HTTP/2 alike.
type NodeListener = ReturnType<typeof connectNodeAdapter>;
type Request = Parameters<NodeListener>[0];
type Response = Parameters<NodeListener>[1];

/** DOMAIN_TO_HTTP is the one mapping of domain errors onto UCloud's HTTP statuses. */
const DOMAIN_TO_HTTP: Readonly<Record<DomainErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  // A lost compare-and-set: nothing changed and the same call may be retried.
  conflict: 409,
  resource_exhausted: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  // The client has gone, so nobody reads this; it only shows in access logs.
  cancelled: 499,
  internal: 500,
};

interface JsonRoute {
  method: "GET" | "POST";
  rpc: RpcName;
  /**
   * prepare checks the request's shape, throwing JsonRequestError, and
   * returns the call to run: shape errors come before any authentication.
   */
  prepare(body: unknown, url: URL): (record: CallRecord) => Promise<unknown>;
}

/** UcloudJsonRoutesOptions are the calls the routes run and the boundary they run them through. */
export interface UcloudJsonRoutesOptions {
  calls: ProviderAuthCalls;
  boundary: CallBoundary;
  /** The same bound as on the Connect routes. */
  readMaxBytes: number;
}

/**
 * createUcloudJsonRoutes serves the API the way UCloud's own clients call it:
 * JSON bodies at /auth/providers/..., bulk framing `{"items": [...]}` (with
 * or without `"type": "bulk"`), answers `{"responses": [...]}`, and errors as
 * an HTTP status with `{"why", "errorCode"}`. Parsing is strict: a `type`
 * other than "bulk", an unknown field at any level, or a value of the wrong
 * kind is refused with 400, like the Connect JSON codec refuses it. Every
 * call goes through the same boundary as the other protocols.
 *
 * The returned function answers and returns true for the paths it owns.
 */
export function createUcloudJsonRoutes(
  options: UcloudJsonRoutesOptions,
): (request: Request, response: Response) => boolean {
  const { calls } = options;
  const routes = new Map<string, JsonRoute>([
    [
      "/auth/providers",
      post(
        "Register",
        (b) => bulkRequest(b, "id"),
        (q, r) => calls.Register(q, r),
      ),
    ],
    [
      "/auth/providers/claim",
      post(
        "Claim",
        (b) => bulkRequest(b, "claimToken"),
        (q, r) => calls.Claim(q, r),
      ),
    ],
    [
      "/auth/providers/renew",
      post(
        "Renew",
        (b) => bulkRequest(b, "id"),
        (q, r) => calls.Renew(q, r),
      ),
    ],
    [
      "/auth/providers/refresh",
      post(
        "Refresh",
        (b) => bulkRequest(b, "refreshToken"),
        (q, r) => calls.Refresh(q, r),
      ),
    ],
    [
      "/auth/providers/refreshAsOrchestrator",
      post(
        "RefreshAsOrchestrator",
        (b) => bulkRequest(b, "providerId"),
        (q, r) => calls.RefreshAsOrchestrator(q, r),
      ),
    ],
    [
      "/auth/providers/generateKeyPair",
      post("GenerateKeyPair", emptyRequest, (q, r) => calls.GenerateKeyPair(q, r)),
    ],
    [
      "/auth/providers/retrieveKey",
      {
        method: "GET",
        rpc: "RetrievePublicKey",
        prepare: (_body, url) => {
          const request = { id: singleQueryParameter(url, "id") };
          return (record) => calls.RetrievePublicKey(request, record);
        },
      },
    ],
  ]);

  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://unused.invalid");
    const route = routes.get(url.pathname);
    if (route === undefined) return false;

    serve(options, route, url, request, response).catch((error: unknown) => {
      // Only a failure to write the answer gets here; the client is gone.
      response.destroy(error instanceof Error ? error : undefined);
    });
    return true;
  };
}

function post<T>(
  rpc: RpcName,
  parse: (body: unknown) => T,
  call: (request: T, record: CallRecord) => Promise<unknown>,
): JsonRoute {
  return {
    method: "POST",
    rpc,
    prepare: (body) => {
      const request = parse(body);
      return (record) => call(request, record);
    },
  };
}

async function serve(
  options: UcloudJsonRoutesOptions,
  route: JsonRoute,
  url: URL,
  request: Request,
  response: Response,
): Promise<void> {
  if (request.method !== route.method) {
    response.setHeader("allow", route.method);
    writeError(response, 405, "METHOD_NOT_ALLOWED", `use ${route.method} for this route`);
    return;
  }

  let work: (record: CallRecord) => Promise<unknown>;
  try {
    const body =
      route.method === "GET" ? undefined : await readJsonBody(request, options.readMaxBytes);
    work = route.prepare(body, url);
  } catch (error) {
    if (!(error instanceof JsonRequestError)) throw error;
    writeError(response, error.status, error.errorCode, error.message);
    return;
  }

  const abort = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) {
      abort.abort(
        new DomainError("cancelled", "the client closed the connection", {
          reason: "client_cancelled",
        }),
      );
    }
  });

  const call = {
    rpc: route.rpc,
    authorization: request.headers.authorization,
    peer: request.socket.remoteAddress ?? "unknown",
    protocol: "ucloud-json",
    signal: abort.signal,
  };

  let result: unknown;
  try {
    result = await options.boundary.run(call, work);
  } catch (error) {
    const domainError = isDomainError(error) ? error : internalError(error);
    writeError(
      response,
      DOMAIN_TO_HTTP[domainError.code],
      domainError.code.toUpperCase(),
      domainError.message,
    );
    return;
  }
  writeJson(response, 200, result);
}

function writeError(response: Response, status: number, errorCode: string, why: string): void {
  writeJson(response, status, { why, errorCode });
}

function writeJson(response: Response, status: number, value: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(value);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  response.end(text);
}
