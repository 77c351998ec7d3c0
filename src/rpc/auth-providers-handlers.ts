import { createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";

import type { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import type { RpcName } from "../auth/call-policy.js";
import { isDomainError, internalError } from "../domain/errors.js";
import type { CallBoundary, CallRecord } from "./call-boundary.js";
import { domainAbortSignal, toConnectError } from "./connect-codes.js";
import type { ProviderAuthCalls } from "./provider-auth-calls.js";

/** PEER_ADDRESS carries the client's address from the HTTP layer into handlers. */
export const PEER_ADDRESS = createContextKey<string>("unknown", { description: "peer address" });

/** REACHED_BOUNDARY marks a call that reached the call boundary, and so has its log line. */
export const REACHED_BOUNDARY = createContextKey<boolean>(false, {
  description: "reached the call boundary",
});

/**
 * authProvidersHandlers implements the generated service by handing each
 * request to the shared calls through the boundary and turning domain errors
 * into Connect errors, nothing more. Plain answers become messages in Connect.
 */
export function authProvidersHandlers(
  calls: ProviderAuthCalls,
  boundary: CallBoundary,
): ServiceImpl<typeof AuthProvidersService> {
  const serve = async <T>(
    rpc: RpcName,
    context: HandlerContext,
    work: (record: CallRecord) => Promise<T>,
  ): Promise<T> => {
    context.values.set(REACHED_BOUNDARY, true);
    const call = {
      rpc,
      authorization: context.requestHeader.get("authorization") ?? undefined,
      peer: context.values.get(PEER_ADDRESS),
      protocol: context.protocolName,
      signal: domainAbortSignal(context.signal, () => context.timeoutMs()),
    };
    try {
      return await boundary.run(call, work);
    } catch (error) {
      throw toConnectError(isDomainError(error) ? error : internalError(error));
    }
  };

  return {
    register: (request, context) =>
      serve("Register", context, (record) => calls.Register(request, record)),
    claim: (request, context) => serve("Claim", context, (record) => calls.Claim(request, record)),
    renew: (request, context) => serve("Renew", context, (record) => calls.Renew(request, record)),
    refresh: (request, context) =>
      serve("Refresh", context, (record) => calls.Refresh(request, record)),
    refreshAsOrchestrator: (request, context) =>
      serve("RefreshAsOrchestrator", context, (record) =>
        calls.RefreshAsOrchestrator(request, record),
      ),
    retrievePublicKey: (request, context) =>
      serve("RetrievePublicKey", context, (record) => calls.RetrievePublicKey(request, record)),
    generateKeyPair: (request, context) =>
      serve("GenerateKeyPair", context, (record) => calls.GenerateKeyPair(request, record)),
  };
}
