import type { RpcName } from "../auth/call-policy.js";
import type { ProviderAuth } from "../domain/provider-auth.js";
import type { CallRecord } from "./call-boundary.js";

/** BulkOf is a bulk request: UCloud's `{"items": [...]}` and the proto messages alike. */
export interface BulkOf<Item> {
  items: readonly Item[];
}

/** BulkAnswer is a bulk response, one entry per item in the request's order. */
export interface BulkAnswer<Item> {
  responses: Item[];
}

// The parameter type is `never` so that any request type fits: the point of
// the base is only that every RPC of the policy table has an entry.
type AnyCall = (request: never, record: CallRecord) => Promise<unknown>;

interface Credentials {
  providerId: string;
  publicKey: string;
  refreshToken: string;
}

/**
 * ProviderAuthCalls runs each call of the API on the domain, taking and
 * giving plain objects whose field names are those of the proto messages
 * and of UCloud's JSON, so every transport shares one translation.
 */
export interface ProviderAuthCalls extends Record<RpcName, AnyCall> {
  Register(
    request: BulkOf<{ id: string }>,
    record: CallRecord,
  ): Promise<BulkAnswer<{ claimToken: string }>>;
  Claim(
    request: BulkOf<{ claimToken: string }>,
    record: CallRecord,
  ): Promise<BulkAnswer<Credentials>>;
  Renew(request: BulkOf<{ id: string }>, record: CallRecord): Promise<BulkAnswer<Credentials>>;
  Refresh(
    request: BulkOf<{ refreshToken: string }>,
    record: CallRecord,
  ): Promise<BulkAnswer<{ accessToken: string }>>;
  RefreshAsOrchestrator(
    request: BulkOf<{ providerId: string }>,
    record: CallRecord,
  ): Promise<BulkAnswer<{ accessToken: string }>>;
  RetrievePublicKey(request: { id: string }, record: CallRecord): Promise<{ publicKey: string }>;
  GenerateKeyPair(
    request: object,
    record: CallRecord,
  ): Promise<{ publicKey: string; privateKey: string }>;
}

/** providerAuthCalls binds the calls to one domain instance. */
export function providerAuthCalls(domain: ProviderAuth): ProviderAuthCalls {
  return {
    async Register(request, record) {
      const ids = request.items.map((item) => item.id);
      record.items = ids.length;
      const claimTokens = await domain.register(ids, record.signal);
      record.providerIds = ids;
      return { responses: claimTokens.map((claimToken) => ({ claimToken })) };
    },

    async Claim(request, record) {
      record.items = request.items.length;
      const claimTokens = request.items.map((item) => item.claimToken);
      const credentials = await domain.claim(claimTokens, record.signal);
      record.providerIds = credentials.map((c) => c.providerId);
      return { responses: credentials };
    },

    async Renew(request, record) {
      const ids = request.items.map((item) => item.id);
      record.items = ids.length;
      const credentials = await domain.renew(ids, record.signal);
      record.providerIds = ids;
      return { responses: credentials };
    },

    async Refresh(request, record) {
      record.items = request.items.length;
      const issued = await domain.refresh(request.items.map((item) => item.refreshToken));
      record.providerIds = issued.map((t) => t.providerId);
      return { responses: issued.map(({ accessToken }) => ({ accessToken })) };
    },

    async RefreshAsOrchestrator(request, record) {
      const ids = request.items.map((item) => item.providerId);
      record.items = ids.length;
      const issued = await domain.refreshAsOrchestrator(ids);
      record.providerIds = ids;
      return { responses: issued.map(({ accessToken }) => ({ accessToken })) };
    },

    async RetrievePublicKey(request, record) {
      const publicKey = await domain.retrievePublicKey(request.id);
      record.providerIds = [request.id];
      return { publicKey };
    },

    async GenerateKeyPair() {
      return domain.generateKeyPair();
    },
  };
}
