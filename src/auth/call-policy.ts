import type { Caller } from "../jwt/caller-tokens.js";
import { DomainError } from "../domain/errors.js";

/**
 * Who may make a call: anyone (the refresh token in the body is the
 * credential), any authenticated service or administrator, or only a service
 * on the orchestrator allow-list.
 */
export type Requirement = "public" | "service" | "orchestrator";

/** RpcName names the calls of the API, as the proto service spells them. */
export type RpcName =
  | "Register"
  | "Claim"
  | "Renew"
  | "Refresh"
  | "RefreshAsOrchestrator"
  | "RetrievePublicKey"
  | "GenerateKeyPair";

/** CALL_POLICY is the one table of who may call what. */
export const CALL_POLICY: Readonly<Record<RpcName, Requirement>> = {
  Register: "service",
  Claim: "service",
  Renew: "service",
  Refresh: "public",
  RefreshAsOrchestrator: "orchestrator",
  RetrievePublicKey: "service",
  GenerateKeyPair: "service",
};

/** UCloud's services that act as orchestrators of provider resources. */
export const DEFAULT_ORCHESTRATORS = [
  "_ucloud",
  "_app-orchestrator",
  "_file-orchestrator",
  "_storage",
  "_accounting",
];

const PRIVILEGED_ROLES = new Set(["SERVICE", "ADMIN"]);

/** authorize throws PERMISSION_DENIED unless the caller meets the requirement. */
export function authorize(
  requirement: Requirement,
  caller: Caller,
  orchestrators: ReadonlySet<string>,
): void {
  if (requirement === "public") return;

  if (!PRIVILEGED_ROLES.has(caller.role)) {
    throw new DomainError(
      "permission_denied",
      `role ${JSON.stringify(caller.role)} may not make this call: it needs SERVICE or ADMIN`,
      { reason: "role_not_allowed" },
    );
  }
  if (requirement === "orchestrator" && !orchestrators.has(caller.subject)) {
    throw new DomainError(
      "permission_denied",
      `${JSON.stringify(caller.subject)} is not on the orchestrator allow-list`,
      { reason: "not_an_orchestrator" },
    );
  }
}
