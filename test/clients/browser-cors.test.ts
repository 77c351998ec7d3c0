import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { build } from "esbuild";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { REPO_ROOT, startTestService, type TestService } from "../support/client-fixtures.js";
import type { PageResult } from "./browser/connect-web-page.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>provider-auth from a browser</title></head>
<body><pre id="results">running</pre><script type="module" src="/page.js"></script></body>
</html>`;

interface PageServer {
  origin: string;
  close(): Promise<void>;
}

// A tiny static server on its own port is another origin than the service.
async function servePage(script: string): Promise<PageServer> {
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://page.invalid").pathname;
    if (path === "/page.js") {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      response.end(script);
    } else if (path === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(PAGE_HTML);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let allowedPage: PageServer;
let otherPage: PageServer;
let running: TestService;
let browser: BrowserContext | undefined;
let profileDir: string;
let credentials: { providerId: string; publicKey: string; refreshToken: string };

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [join(REPO_ROOT, "test/clients/browser/connect-web-page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]!.text;
  allowedPage = await servePage(script);
  otherPage = await servePage(script);

  running = await startTestService({ PROVIDER_AUTH_CORS_ORIGINS: allowedPage.origin });
  credentials = await registerAndClaim(running, "browser-site");
  profileDir = await mkdtemp(join(tmpdir(), "provider-auth-chromium-"));
});

afterAll(async () => {
  await browser?.close();
  await running?.close();
  await allowedPage?.close();
  await otherPage?.close();
  if (profileDir !== undefined) await rm(profileDir, { recursive: true, force: true });
});

async function openBrowser(context: { skip: (note: string) => never }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    const reason = `${CHROMIUM} is not installed (apt-get install chromium)`;
    process.stderr.write(`SKIPPED: ${reason}\n`);
    context.skip(reason);
  }
  browser ??= await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return browser;
}

async function runPage(context: BrowserContext, origin: string): Promise<PageResult[]> {
  const query = new URLSearchParams({
    api: running.service.url,
    token: running.token,
    provider: credentials.providerId,
    refresh: credentials.refreshToken,
  });
  const page = await context.newPage();
  try {
    await page.goto(`${origin}/?${query.toString()}`);
    const results = page.locator("#results[data-done='true']");
    await results.waitFor({ timeout: 30_000 });
    return JSON.parse((await results.textContent()) ?? "[]") as PageResult[];
  } finally {
    await page.close();
  }
}

describe("Connect-Web in Chromium from another origin", { timeout: 90_000 }, () => {
  test("both transports call the API; a bad token reads as unauthenticated", async (ctx) => {
    const results = await runPage(await openBrowser(ctx), allowedPage.origin);

    for (const transport of ["connect", "grpc-web"] as const) {
      const of = (call: string) =>
        results.find((r) => r.transport === transport && r.call === call);
      expect(of("RetrievePublicKey")).toMatchObject({
        outcome: "ok",
        detail: credentials.publicKey,
      });
      expect(of("Refresh")?.outcome).toBe("ok");
      expect(of("Refresh")?.detail.split(".")).toHaveLength(3);
      expect(of("Refresh with a bad token")).toMatchObject({
        outcome: "unauthenticated",
        detail: expect.stringContaining("not a valid refresh token"),
      });
    }
  });

  test("a page from an origin not configured gets no answer", async (ctx) => {
    const before = running.logs.length;
    const results = await runPage(await openBrowser(ctx), otherPage.origin);

    expect(results).toHaveLength(6);
    for (const result of results) expect(result.outcome).not.toBe("ok");
    // The browser stopped at the refused preflight: no call reached the service.
    expect(running.logs.slice(before).filter((l) => l.event === "call")).toEqual([]);
  });
});

describe("CORS headers", () => {
  const preflight = (origin: string) =>
    request("OPTIONS", "/ucloud.auth.v1.AuthProvidersService/Refresh", {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, connect-protocol-version",
    });

  test("a preflight from the allowed origin is answered 204 with what Connect needs", async () => {
    const answer = await preflight(allowedPage.origin);
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe(allowedPage.origin);
    expect(answer.headers["access-control-allow-methods"]).toContain("POST");
    const allowed = String(answer.headers["access-control-allow-headers"]).split(", ");
    for (const header of ["authorization", "content-type", "connect-protocol-version"]) {
      expect(allowed).toContain(header);
    }
    for (const header of ["x-grpc-web", "grpc-timeout", "connect-timeout-ms"]) {
      expect(allowed).toContain(header);
    }
  });

  test("answers to the allowed origin expose the gRPC status headers", async () => {
    const answer = await request(
      "POST",
      "/ucloud.auth.v1.AuthProvidersService/Refresh",
      { origin: allowedPage.origin, "content-type": "application/json" },
      '{"items":[{"refreshToken":"x"}]}',
    );
    expect(answer.headers["access-control-allow-origin"]).toBe(allowedPage.origin);
    const exposed = String(answer.headers["access-control-expose-headers"]);
    for (const header of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
      expect(exposed).toContain(header);
    }
  });

  test("another origin gets no CORS header, on a preflight or a call", async () => {
    const refused = await preflight(otherPage.origin);
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);

    const call = await request(
      "POST",
      "/ucloud.auth.v1.AuthProvidersService/Refresh",
      { origin: otherPage.origin, "content-type": "application/json" },
      '{"items":[{"refreshToken":"x"}]}',
    );
    expect(Object.keys(call.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });
});

async function registerAndClaim(service: TestService, id: string) {
  const call = async (method: string, body: object) => {
    const response = await fetch(
      `${service.service.url}/ucloud.auth.v1.AuthProvidersService/${method}`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${service.token}` },
        body: JSON.stringify(body),
      },
    );
    return (await response.json()) as { responses: Array<Record<string, string>> };
  };
  const registered = await call("Register", { items: [{ id }] });
  const claimed = await call("Claim", {
    items: [{ claimToken: registered.responses[0]!.claimToken }],
  });
  const { providerId, publicKey, refreshToken } = claimed.responses[0]!;
  return { providerId: providerId!, publicKey: publicKey!, refreshToken: refreshToken! };
}

function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      `${running.service.url}${path}`,
      { method, headers },
      (answer) => {
        answer.resume();
        answer.on("end", () =>
          resolve({ status: answer.statusCode ?? 0, headers: answer.headers }),
        );
      },
    );
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}
