import { randomBytes } from "node:crypto";

/** unknownSecret is a well-formed claim or refresh token that nobody was given. */
export const unknownSecret = () => randomBytes(32).toString("base64url");

/** Tokens that this service can never have issued: the wrong length, alphabet or size. */
export const MALFORMED_SECRETS: readonly [string, string][] = [
  ["42 characters", "A".repeat(42)],
  ["44 characters", "A".repeat(44)],
  ["padded base64", `${"A".repeat(42)}=`],
  ["the standard base64 alphabet", `ab+/${"A".repeat(39)}`],
  ["look-alike letters", "\u0410".repeat(43)],
  ["10 KB", "A".repeat(10 * 1024)],
];

/** Provider ids that break the pattern, some of them shaped like injections. */
export const BAD_IDS: readonly string[] = [
  ...["Hippo", "", "-hippo", ".hippo", "_hippo", "a".repeat(65), "hip po", "hippo\n"],
  ...["hip\u0000po", "\uff48ippo", "hippo/../x", "$ne", '{"$ne":null}', "hippo;drop"],
];

/** The RPCs that take a provider id, how a request names one, and the field the error names. */
export const ID_RPCS: readonly [string, (id: string) => object, string][] = [
  ["Register", (id) => ({ items: [{ id }] }), "items[0].id"],
  ["Renew", (id) => ({ items: [{ id }] }), "items[0].id"],
  ["RefreshAsOrchestrator", (id) => ({ items: [{ providerId: id }] }), "items[0].providerId"],
  ["RetrievePublicKey", (id) => ({ id }), "id"],
];

/** Operator-shaped JSON where a string belongs: the RPC, the body, and UCloud's route for it. */
export const OPERATOR_BODIES: readonly [string, string, string][] = [
  ["Register", '{"items":[{"id":{"$ne":null}}]}', "/auth/providers"],
  ["Register", '{"items":{"$gt":[]}}', "/auth/providers"],
  ["Register", '{"items":[{"id":["hippo"]}]}', "/auth/providers"],
  ["Renew", '{"items":[{"id":{"$regex":".*"}}]}', "/auth/providers/renew"],
  ["Claim", '{"items":[{"claimToken":{"$ne":""}}]}', "/auth/providers/claim"],
  ["Refresh", '{"items":[{"refreshToken":{"$exists":true}}]}', "/auth/providers/refresh"],
  [
    "RefreshAsOrchestrator",
    '{"items":[{"providerId":{"$in":["x"]}}]}',
    "/auth/providers/refreshAsOrchestrator",
  ],
];
