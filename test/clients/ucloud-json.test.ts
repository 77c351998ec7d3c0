import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { callLines, startTestService, type TestService } from "../support/client-fixtures.js";

let running: TestService;

beforeAll(async () => {
  running = await startTestService();
});
afterAll(async () => {
  await running?.close();
});

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function post(
  path: string,
  body: string,
  options: { token?: boolean; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
  };
  if (options.token === true) headers.authorization = `Bearer ${running.token}`;
  const response = await fetch(`${running.service.url}${path}`, { method: "POST", headers, body });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as unknown, headers: response.headers };
}

async function get(path: string): Promise<Answer> {
  const response = await fetch(`${running.service.url}${path}`, {
    headers: { authorization: `Bearer ${running.token}` },
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

function responses(answer: Answer): Array<Record<string, string>> {
  expect(answer.status).toBe(200);
  const body = answer.body as { responses: Array<Record<string, string>> };
  expect(Object.keys(body)).toEqual(["responses"]);
  return body.responses;
}

async function registerAndClaim(id: string): Promise<Record<string, string>> {
  const registered = responses(
    await post("/auth/providers", JSON.stringify({ type: "bulk", items: [{ id }] }), {
      token: true,
    }),
  );
  expect(Object.keys(registered[0]!)).toEqual(["claimToken"]);

  const claimed = responses(
    await post(
      "/auth/providers/claim",
      JSON.stringify({ items: [{ claimToken: registered[0]!.claimToken }] }),
      { token: true },
    ),
  );
  expect(Object.keys(claimed[0]!).sort()).toEqual(["providerId", "publicKey", "refreshToken"]);
  expect(claimed[0]!.providerId).toBe(id);
  return claimed[0]!;
}

describe("UCloud's JSON routes, with the bodies UCloud sends", { timeout: 60_000 }, () => {
  test("register, claim, refresh and refreshAsOrchestrator", async () => {
    const credentials = await registerAndClaim("json-site");

    // Exactly what UCloud's integration module sends to refresh.
    const refreshed = responses(
      await post(
        "/auth/providers/refresh",
        `{"items":[{"refreshToken":"${credentials.refreshToken}"}]}`,
      ),
    );
    expect(Object.keys(refreshed[0]!)).toEqual(["accessToken"]);
    expect(decodeJwt(refreshed[0]!.accessToken!).role).toBe("PROVIDER");

    const asOrchestrator = responses(
      await post(
        "/auth/providers/refreshAsOrchestrator",
        '{"type":"bulk","items":[{"providerId":"json-site"}]}',
        { token: true },
      ),
    );
    expect(Object.keys(asOrchestrator[0]!)).toEqual(["accessToken"]);
    expect(decodeJwt(asOrchestrator[0]!.accessToken!).sub).toBe("_UCloud");

    // The calls went through the same boundary as every other protocol.
    const line = callLines(running.logs, "Refresh").at(-1)!;
    expect(line).toMatchObject({ protocol: "ucloud-json", outcome: "ok" });
  });

  test("renew, retrieveKey and generateKeyPair", async () => {
    const first = await registerAndClaim("json-renewed");
    const renewed = responses(
      await post("/auth/providers/renew", '{"items":[{"id":"json-renewed"}]}', { token: true }),
    );
    expect(renewed[0]!.publicKey).not.toBe(first.publicKey);

    const key = await get("/auth/providers/retrieveKey?id=json-renewed");
    expect(key.status).toBe(200);
    expect(key.body).toEqual({ publicKey: renewed[0]!.publicKey });

    const pair = await post("/auth/providers/generateKeyPair", "{}", { token: true });
    expect(pair.status).toBe(200);
    expect(Object.keys(pair.body as object).sort()).toEqual(["privateKey", "publicKey"]);
  });
});

describe("UCloud's JSON routes refuse with a status and why/errorCode", { timeout: 60_000 }, () => {
  const cases: Array<{
    name: string;
    path: string;
    body: string;
    token?: boolean;
    contentType?: string;
    status: number;
    errorCode: string;
    why: RegExp;
  }> = [
    {
      name: "an operator object where a string belongs",
      path: "/auth/providers/refresh",
      body: '{"items":[{"refreshToken":{"$ne":null}}]}',
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /items\[0\]\.refreshToken must be a string, got an object/,
    },
    {
      name: "a number where a string belongs",
      path: "/auth/providers",
      body: '{"items":[{"id":42}]}',
      token: true,
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /items\[0\]\.id must be a string, got a number/,
    },
    {
      name: "malformed JSON",
      path: "/auth/providers/refresh",
      body: '{"items":[',
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /not valid JSON/,
    },
    {
      name: "a body that is not JSON at all",
      path: "/auth/providers/refresh",
      body: "refreshToken=abc",
      contentType: "application/x-www-form-urlencoded",
      status: 415,
      errorCode: "UNSUPPORTED_MEDIA_TYPE",
      why: /application\/json/,
    },
    {
      name: "a type other than bulk",
      path: "/auth/providers/refresh",
      body: '{"type":"single","items":[]}',
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /"type" must be "bulk"/,
    },
    {
      name: "an unknown top-level field",
      path: "/auth/providers/refresh",
      body: '{"item":[{"refreshToken":"x"}]}',
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /unknown field "item"/,
    },
    {
      name: "no items",
      path: "/auth/providers/refresh",
      body: '{"items":[]}',
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /no items/,
    },
    {
      name: "a missing field, read as empty and refused by the domain",
      path: "/auth/providers",
      body: '{"items":[{}]}',
      token: true,
      status: 400,
      errorCode: "INVALID_ARGUMENT",
      why: /items\[0\]\.id/,
    },
    {
      name: "a bad refresh token",
      path: "/auth/providers/refresh",
      body: '{"items":[{"refreshToken":"not-a-token"}]}',
      status: 401,
      errorCode: "UNAUTHENTICATED",
      why: /not a valid refresh token/,
    },
    {
      name: "a missing service token",
      path: "/auth/providers/refreshAsOrchestrator",
      body: '{"items":[{"providerId":"json-site"}]}',
      status: 401,
      errorCode: "UNAUTHENTICATED",
      why: /authorization: Bearer/,
    },
    {
      name: "an unknown provider",
      path: "/auth/providers/renew",
      body: '{"items":[{"id":"never-registered"}]}',
      token: true,
      status: 404,
      errorCode: "NOT_FOUND",
      why: /is not registered/,
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const answer = await post(c.path, c.body, { token: c.token, contentType: c.contentType });
      expect(answer.status).toBe(c.status);
      expect(answer.body).toEqual({ why: expect.stringMatching(c.why), errorCode: c.errorCode });
    });
  }

  test("a provider registered twice is a conflict", async () => {
    await registerAndClaim("json-twice");
    const again = await post("/auth/providers", '{"items":[{"id":"json-twice"}]}', {
      token: true,
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ errorCode: "ALREADY_EXISTS" });
  });

  test("a 1 MiB body is refused with 413 before any call is made", async () => {
    const before = running.logs.length;
    const big = JSON.stringify({ items: [{ refreshToken: "a".repeat(1024 * 1024) }] });
    const answer = await post("/auth/providers/refresh", big);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ errorCode: "PAYLOAD_TOO_LARGE" });
    expect(callLines(running.logs.slice(before), "Refresh")).toEqual([]);
  });

  test("the wrong method names the right one", async () => {
    const answer = await get("/auth/providers/refresh");
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("POST");
  });
});
