import type { AttackService, CallEntry, LogLine } from "./attack-fixture.js";

// How each client's calls are named in the `protocol` field of the log.
const LOGGED_PROTOCOL: Readonly<Record<string, string>> = { "grpc-js": "grpc", connect: "connect" };

// The calls whose successful log line names the providers they touched.
const NAMES_PROVIDERS = new Set([
  "Register",
  "Claim",
  "Renew",
  "Refresh",
  "RefreshAsOrchestrator",
  "RetrievePublicKey",
]);

function describeCall(entry: CallEntry): string {
  return `${entry.rpc} over ${entry.transport} (${entry.outcome})`;
}

function lineProblems(entry: CallEntry, line: LogLine): string[] {
  const problems: string[] = [];
  if (line.rpc !== entry.rpc) problems.push(`rpc ${String(line.rpc)}`);
  if (line.outcome !== entry.outcome) problems.push(`outcome ${String(line.outcome)}`);
  const protocol = LOGGED_PROTOCOL[entry.transport];
  if (protocol !== undefined && line.protocol !== protocol) {
    problems.push(`protocol ${String(line.protocol)}`);
  }
  if (entry.outcome === "ok") {
    if (line.reason !== undefined) problems.push("a reason on a call that succeeded");
    const ids = line.provider_ids;
    if (NAMES_PROVIDERS.has(entry.rpc) && (!Array.isArray(ids) || ids.length === 0)) {
      problems.push("no provider_ids");
    }
  } else if (typeof line.reason !== "string" || line.reason === "") {
    problems.push("no reason");
  }
  return problems;
}

/**
 * auditProblems lists, for each call, what its log line lacks: one `call`
 * line per call, with the rpc, the outcome the caller saw, a reason for a
 * failure and, for a success, the providers it touched.
 */
export function auditProblems(svc: AttackService, entries: readonly CallEntry[]): string[] {
  return entries.flatMap((entry) => {
    const lines = svc.linesOf(entry);
    if (lines.length !== 1) return [`${describeCall(entry)}: ${lines.length} call lines`];
    const problems = lineProblems(entry, lines[0]!);
    return problems.length === 0 ? [] : [`${describeCall(entry)}: ${problems.join(", ")}`];
  });
}

// Outcomes given before, or instead of, knowing who the caller is.
const BEFORE_AUTHENTICATION = new Set(["unauthenticated", "resource_exhausted"]);

/**
 * callerProblems lists the calls whose caller authenticated (every call but
 * Refresh, which is public, and those refused as unauthenticated) but whose
 * log line does not say who it was.
 */
export function callerProblems(svc: AttackService, entries: readonly CallEntry[]): string[] {
  return entries
    .filter((e) => e.rpc !== "Refresh" && !BEFORE_AUTHENTICATION.has(e.outcome))
    .filter((e) => {
      const [line] = svc.linesOf(e);
      return typeof line?.caller !== "string" || typeof line.caller_role !== "string";
    })
    .map(describeCall);
}
