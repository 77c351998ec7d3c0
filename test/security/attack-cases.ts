import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AttackService,
  TRANSPORTS,
  type Bearer,
  type StoreFactory,
  type Transport,
} from "./attack-fixture.js";
import { attackerKey, forge, FORGED_TOKENS, type ForgeContext } from "./forged-caller-tokens.js";
import { connectJson, httpRequest, startKeyServer, type KeyServer } from "./raw-requests.js";
import { auditProblems, callerProblems } from "./audit-checks.js";
import {
  BAD_IDS,
  ID_RPCS,
  MALFORMED_SECRETS,
  OPERATOR_BODIES,
  unknownSecret,
} from "./attack-inputs.js";

/**
 * describeAttacks runs the attack suite against one running service on the
 * store `stores` gives (the memory store when none), over gRPC and Connect.
 * Each attack asserts the exact code and that the store did not change; the
 * last cases read the service's log as an operator would.
 */
export function describeAttacks(label: string, stores?: StoreFactory): void {
  describe(`attacks on the running service, on ${label}`, () => {
    let svc: AttackService;
    let keyServer: KeyServer;
    let forgeContext: ForgeContext;
    let knownId: string;

    beforeAll(async () => {
      const attacker = await attackerKey();
      keyServer = await startKeyServer({ keys: [attacker.jwk] });
      // With no retry window, the first use of a claim token is its last.
      svc = await AttackService.start({ PROVIDER_AUTH_CLAIM_RETRY_WINDOW_SECONDS: "0" }, stores);
      forgeContext = { trusted: svc.test.callerKey, attacker, keyServerUrl: keyServer.url };
      knownId = (await svc.registerAndClaim("grpc-js")).id;
    });
    afterAll(async () => {
      await svc?.close();
      await keyServer?.close();
    });

    describe.each(TRANSPORTS)("over %s", (transport: Transport) => {
      const refuse = (rpc: string, request: object, bearer?: Bearer) =>
        svc.refusal(transport, rpc, request, bearer);

      describe("caller tokens", () => {
        it.each(FORGED_TOKENS.map((f) => [f.name, f] as const))(
          "refuses %s as UNAUTHENTICATED on Register and RetrievePublicKey",
          async (_name, forged) => {
            const token = await forge(forged, forgeContext);
            svc.minted.push(token);
            const register = await refuse("Register", { items: [{ id: svc.freshId() }] }, token);
            expect(register.code).toBe("UNAUTHENTICATED");
            const retrieve = await refuse("RetrievePublicKey", { id: knownId }, token);
            expect(retrieve.code).toBe("UNAUTHENTICATED");
          },
        );

        it("never fetches a key from the URLs in jku or x5u headers", async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(keyServer.requests()).toBe(0);
        });

        it("refuses tokens it signed for providers as UNAUTHENTICATED bearer tokens", async () => {
          const provider = await svc.registerAndClaim(transport);
          const providerToken = await svc.refresh(transport, provider.refreshToken);
          const answer = await svc.call(transport, "RefreshAsOrchestrator", {
            items: [{ providerId: provider.id }],
          });
          const orchestrator = (answer.responses as { accessToken: string }[])[0]!.accessToken;
          for (const token of [providerToken, orchestrator]) {
            const register = await refuse("Register", { items: [{ id: svc.freshId() }] }, token);
            expect(register.code).toBe("UNAUTHENTICATED");
            expect((await refuse("RetrievePublicKey", { id: provider.id }, token)).code).toBe(
              "UNAUTHENTICATED",
            );
          }
        });

        it.each(["USER", "PROVIDER"])(
          "refuses a valid %s-role token as PERMISSION_DENIED on every service call",
          async (role) => {
            const token = await svc.mint({ role, sub: role === "USER" ? "alice" : "#P_x" });
            const calls: [string, object][] = [
              ["Register", { items: [{ id: svc.freshId() }] }],
              ["Claim", { items: [{ claimToken: unknownSecret() }] }],
              ["Renew", { items: [{ id: knownId }] }],
              ["RefreshAsOrchestrator", { items: [{ providerId: knownId }] }],
              ["RetrievePublicKey", { id: knownId }],
              ["GenerateKeyPair", {}],
            ];
            for (const [rpc, request] of calls) {
              expect((await refuse(rpc, request, token)).code, rpc).toBe("PERMISSION_DENIED");
            }
          },
        );

        it("refuses a service off the orchestrator allow-list as PERMISSION_DENIED", async () => {
          const token = await svc.mint({ sub: "_avatar" });
          const request = { items: [{ providerId: knownId }] };
          expect((await refuse("RefreshAsOrchestrator", request, token)).code).toBe(
            "PERMISSION_DENIED",
          );
        });
      });

      describe("secrets life cycle", () => {
        it("answers every bad claim token with one message and logs which it was", async () => {
          const used = await svc.registerAndClaim(transport);
          const renewedId = svc.freshId();
          const killedByRenew = await svc.register(transport, renewedId);
          await svc.call(transport, "Renew", { items: [{ id: renewedId }] });

          const cases: [string, string, string][] = [
            ["after its retry window", used.claimToken, `claim_window_passed:${used.id}`],
            // Renew clears the claim token's hash, so nothing is left to know it by.
            ["outstanding when renew ran", killedByRenew, "unknown_claim_token"],
            ["unknown", unknownSecret(), "unknown_claim_token"],
            ...MALFORMED_SECRETS.map(([name, t]): [string, string, string] => [
              name,
              t,
              "malformed_claim_token",
            ]),
          ];
          const messages = new Set<string>();
          for (const [name, claimToken, reason] of cases) {
            const error = await refuse("Claim", { items: [{ claimToken }] });
            expect(error.code, name).toBe("UNAUTHENTICATED");
            messages.add(error.message);
            expect(svc.linesOf(svc.lastCall())[0]?.reason, name).toBe(reason);
          }
          expect([...messages]).toHaveLength(1);
        });

        it("answers bad refresh tokens alike and logs a replay as an alarm", async () => {
          const provider = await svc.registerAndClaim(transport);
          const renewed = await svc.call(transport, "Renew", { items: [{ id: provider.id }] });
          const fresh = (renewed.responses as { refreshToken: string }[])[0]!.refreshToken;

          const cases: [string, string, string, boolean][] = [
            [
              "retired by renew",
              provider.refreshToken,
              `retired_refresh_token:${provider.id}`,
              true,
            ],
            ["unknown", unknownSecret(), "unknown_refresh_token", false],
            ...MALFORMED_SECRETS.map(([name, t]): [string, string, string, boolean] => [
              name,
              t,
              "malformed_refresh_token",
              false,
            ]),
          ];
          const messages = new Set<string>();
          for (const [name, refreshToken, reason, alarm] of cases) {
            const error = await refuse("Refresh", { items: [{ refreshToken }] }, null);
            expect(error.code, name).toBe("UNAUTHENTICATED");
            messages.add(error.message);
            const [line] = svc.linesOf(svc.lastCall());
            expect(line?.reason, name).toBe(reason);
            expect(line?.security_event === true, name).toBe(alarm);
          }
          expect([...messages]).toHaveLength(1);
          expect(await svc.refresh(transport, fresh)).toMatch(/^ey/);
        });
      });

      describe("input checks", () => {
        it.each(ID_RPCS)(
          "%s refuses every id that breaks the pattern as INVALID_ARGUMENT",
          async (rpc, request, field) => {
            for (const id of BAD_IDS) {
              const error = await refuse(rpc, request(id));
              expect(error.code, JSON.stringify(id)).toBe("INVALID_ARGUMENT");
              expect(error.message, JSON.stringify(id)).toContain(field);
              if (id.length >= 5) expect(error.message).not.toContain(id);
            }
          },
        );

        it.each(["Register", "Claim", "Renew", "Refresh", "RefreshAsOrchestrator"])(
          "%s refuses a request naming one item twice as INVALID_ARGUMENT",
          async (rpc) => {
            const provider = await svc.registerAndClaim(transport);
            const unclaimedId = svc.freshId();
            const unclaimed = await svc.register(transport, unclaimedId);
            const item = {
              Register: { id: svc.freshId() },
              Claim: { claimToken: unclaimed },
              Renew: { id: provider.id },
              Refresh: { refreshToken: provider.refreshToken },
              RefreshAsOrchestrator: { providerId: provider.id },
            }[rpc];
            const bearer = rpc === "Refresh" ? null : "service";
            const error = await refuse(rpc, { items: [item, item] }, bearer);
            expect(error.code).toBe("INVALID_ARGUMENT");
            expect(error.message).toMatch(/items\[1\]\.\w+ repeats items\[0\]/);
            // The refused request left the claim token as it was: unused.
            await svc.call(transport, "Claim", { items: [{ claimToken: unclaimed }] });
          },
        );
      });
    });

    describe("operator-shaped JSON where a string belongs", () => {
      it.each(OPERATOR_BODIES)(
        "Connect %s refuses %s as invalid_argument with HTTP 400",
        async (rpc, json) => {
          const token = rpc === "Refresh" ? undefined : svc.test.serviceToken;
          const answer = await svc.refusedRaw(rpc, "connect-raw", () =>
            connectJson(svc.url, rpc, json, token),
          );
          expect(answer.status).toBe(400);
          expect((answer.body as { code?: string }).code).toBe("invalid_argument");
        },
      );

      it.each(OPERATOR_BODIES)(
        "UCloud's JSON route for %s refuses %s with 400 and {why, errorCode}",
        async (rpc, json, path) => {
          const answer = await svc.refusedRaw(rpc, "ucloud-json-raw", () =>
            httpRequest(`${svc.url}${path}`, {
              body: json,
              contentType: "application/json",
              token: svc.test.serviceToken,
            }),
          );
          expect(answer.status).toBe(400);
          const body = answer.body as Record<string, unknown>;
          expect(Object.keys(body).sort()).toEqual(["errorCode", "why"]);
          expect(body.errorCode).toBe("INVALID_ARGUMENT");
        },
      );

      it("Connect refuses an unknown field beside a valid one, as UCloud's routes do", async () => {
        const json = JSON.stringify({ id: knownId, $where: "1" });
        const answer = await svc.record(
          "RetrievePublicKey",
          "connect-raw",
          () => connectJson(svc.url, "RetrievePublicKey", json, svc.test.serviceToken),
          (a) => (a.status === 200 ? "ok" : "invalid_argument"),
        );
        expect(answer.status).toBe(400);
        expect((answer.body as { code?: string }).code).toBe("invalid_argument");
      });

      it.each(["id[$ne]=x", "id=a&id=b", "id=x&$where=1"])(
        "UCloud's retrieveKey route refuses the query %s with 400",
        async (query) => {
          const answer = await svc.refusedRaw("RetrievePublicKey", "ucloud-json-raw", () =>
            httpRequest(`${svc.url}/auth/providers/retrieveKey?${query}`, {
              method: "GET",
              token: svc.test.serviceToken,
            }),
          );
          expect(answer.status).toBe(400);
          expect((answer.body as { errorCode?: string }).errorCode).toBe("INVALID_ARGUMENT");
        },
      );
    });

    describe("the audit log", () => {
      it("has one call line per call with rpc, outcome and reason, naming known providers", () => {
        const typed = svc.calls.filter((c) =>
          (TRANSPORTS as readonly string[]).includes(c.transport),
        );
        expect(typed.length).toBeGreaterThan(100);
        expect(auditProblems(svc, typed)).toEqual([]);
      });

      it("names the caller of every authenticated call, including refused ones", () => {
        const typed = svc.calls.filter((c) =>
          (TRANSPORTS as readonly string[]).includes(c.transport),
        );
        expect(callerProblems(svc, typed)).toEqual([]);
      });

      it("has a call line for each privileged request refused for its shape", () => {
        const raw = svc.calls.filter((c) => c.transport.endsWith("-raw") && c.rpc !== "Refresh");
        expect(raw.length).toBeGreaterThan(0);
        const unlogged = raw.filter((c) => svc.linesOf(c).length !== 1);
        expect(unlogged.map((c) => `${c.rpc} over ${c.transport}`)).toEqual([]);
      });

      it("holds no bearer token minted for the suite, and no key was fetched", () => {
        const log = svc.test.logLines.join("");
        const leaked = svc.minted.filter((token) => log.includes(token));
        expect(svc.minted.length).toBeGreaterThan(20);
        expect(leaked).toEqual([]);
        expect(keyServer.requests()).toBe(0);
      });
    });
  });
}
