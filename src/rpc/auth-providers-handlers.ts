import { create } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";

import {
  AuthProvidersService,
  ClaimResponseSchema,
  RefreshAsOrchestratorResponseSchema,
  RefreshResponseSchema,
  RegisterResponseSchema,
  RenewResponseSchema,
  type RefreshAsOrchestratorRequest,
  type RefreshAsOrchestratorResponse,
  type RefreshRequest,
  type RefreshResponse,
} from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import {
  AuthProvidersGenerateKeyPairResponseSchema,
  AuthProvidersRetrievePublicKeyResponseSchema,
} from "../../gen/ucloud/auth/v1/models_pb.js";
import type { RpcName } from "../auth/call-policy.js";
import type { ProviderAuth } from "../domain/provider-auth.js";
import type { CallBoundary, CallRecord } from "./call-boundary.js";
import { toConnectError } from "./connect-codes.js";

/** PEER_ADDRESS carries the client's address from the HTTP layer into handlers. */
export const PEER_ADDRESS = createContextKey<string>("unknown", { description: "peer address" });

/**
 * authProvidersHandlers implements the generated service by translating
 * messages to domain calls and domain errors to Connect errors, nothing more.
 */
export function authProvidersHandlers(
  domain: ProviderAuth,
  boundary: CallBoundary,
): ServiceImpl<typeof AuthProvidersService> {
  const serve = async <T>(
    rpc: RpcName,
    context: HandlerContext,
    work: (record: CallRecord) => Promise<T>,
  ): Promise<T> => {
    const call = {
      rpc,
      authorization: context.requestHeader.get("authorization") ?? undefined,
      peer: context.values.get(PEER_ADDRESS),
      protocol: context.protocolName,
    };
    try {
      return await boundary.run(call, work);
    } catch (error) {
      throw toConnectError(error as Parameters<typeof toConnectError>[0]);
    }
  };

  return {
    register: (request, context) =>
      serve("Register", context, async (record) => {
        const ids = request.items.map((item) => item.id);
        record.items = ids.length;
        const claimTokens = await domain.register(ids);
        record.providerIds = ids;
        return create(RegisterResponseSchema, {
          responses: claimTokens.map((claimToken) => ({ claimToken })),
        });
      }),

    claim: (request, context) =>
      serve("Claim", context, async (record) => {
        record.items = request.items.length;
        const credentials = await domain.claim(request.items.map((item) => item.claimToken));
        record.providerIds = credentials.map((c) => c.providerId);
        return create(ClaimResponseSchema, { responses: credentials });
      }),

    renew: (request, context) =>
      serve("Renew", context, async (record) => {
        const ids = request.items.map((item) => item.id);
        record.items = ids.length;
        const credentials = await domain.renew(ids);
        record.providerIds = ids;
        return create(RenewResponseSchema, { responses: credentials });
      }),

    refresh: (request, context) => serve("Refresh", context, refreshWork(domain, request)),

    refreshAsOrchestrator: (request, context) =>
      serve("RefreshAsOrchestrator", context, refreshAsOrchestratorWork(domain, request)),

    retrievePublicKey: (request, context) =>
      serve("RetrievePublicKey", context, async (record) => {
        const publicKey = await domain.retrievePublicKey(request.id);
        record.providerIds = [request.id];
        return create(AuthProvidersRetrievePublicKeyResponseSchema, { publicKey });
      }),

    generateKeyPair: (_request, context) =>
      serve("GenerateKeyPair", context, async () => {
        const pair = await domain.generateKeyPair();
        return create(AuthProvidersGenerateKeyPairResponseSchema, pair);
      }),
  };
}

/**
 * refreshWork is the work of one Refresh call, shared by every transport
 * that serves it, so they cannot drift apart.
 */
export function refreshWork(
  domain: ProviderAuth,
  request: RefreshRequest,
): (record: CallRecord) => Promise<RefreshResponse> {
  return async (record) => {
    record.items = request.items.length;
    const issued = await domain.refresh(request.items.map((item) => item.refreshToken));
    record.providerIds = issued.map((t) => t.providerId);
    return create(RefreshResponseSchema, {
      responses: issued.map(({ accessToken }) => ({ accessToken })),
    });
  };
}

/** refreshAsOrchestratorWork is the work of one RefreshAsOrchestrator call, for every transport. */
export function refreshAsOrchestratorWork(
  domain: ProviderAuth,
  request: RefreshAsOrchestratorRequest,
): (record: CallRecord) => Promise<RefreshAsOrchestratorResponse> {
  return async (record) => {
    const ids = request.items.map((item) => item.providerId);
    record.items = ids.length;
    const issued = await domain.refreshAsOrchestrator(ids);
    record.providerIds = ids;
    return create(RefreshAsOrchestratorResponseSchema, {
      responses: issued.map(({ accessToken }) => ({ accessToken })),
    });
  };
}
