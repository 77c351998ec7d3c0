import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";

/** ApiClient is a gRPC client of the service, for the bench's own control calls. */
export type ApiClient = Client<typeof AuthProvidersService>;

/**
 * apiClient opens a gRPC client on its own HTTP/2 connection, so its calls
 * never queue behind a load generator's streams on the client side.
 */
export function apiClient(url: string): ApiClient {
  return createClient(AuthProvidersService, createGrpcTransport({ baseUrl: url }));
}

/** bearer builds call options carrying a service token. */
export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** timed runs `work` and returns its result and how long it took, in milliseconds. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}
