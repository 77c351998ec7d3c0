import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

import { AuthProvidersService } from "../../../gen/ucloud/auth/v1/auth_providers_pb.js";

// The project compiles without the DOM library; the page needs only these.
interface PageElement {
  textContent: string | null;
  setAttribute(name: string, value: string): void;
}
declare const document: { getElementById(id: string): PageElement | null };
declare const location: { search: string };

/** PageResult is one call the page made from the browser and how it ended. */
export interface PageResult {
  transport: "connect" | "grpc-web";
  call: string;
  /** "ok", or the Connect code name in lower case, e.g. "unauthenticated". */
  outcome: string;
  detail: string;
}

async function attempt(
  transport: PageResult["transport"],
  call: string,
  work: () => Promise<string>,
): Promise<PageResult> {
  try {
    return { transport, call, outcome: "ok", detail: await work() };
  } catch (error) {
    const connectError = ConnectError.from(error);
    return {
      transport,
      call,
      outcome: Code[connectError.code].toLowerCase(),
      detail: connectError.rawMessage,
    };
  }
}

async function runCalls(): Promise<PageResult[]> {
  const params = new URLSearchParams(location.search);
  const baseUrl = params.get("api") ?? "";
  const token = params.get("token") ?? "";
  const providerId = params.get("provider") ?? "";
  const refreshToken = params.get("refresh") ?? "";

  const transports: Array<[PageResult["transport"], Transport]> = [
    ["connect", createConnectTransport({ baseUrl })],
    ["grpc-web", createGrpcWebTransport({ baseUrl })],
  ];

  const results: PageResult[] = [];
  for (const [name, transport] of transports) {
    const client = createClient(AuthProvidersService, transport);
    results.push(
      await attempt(name, "RetrievePublicKey", async () => {
        const headers = { authorization: `Bearer ${token}` };
        const answer = await client.retrievePublicKey({ id: providerId }, { headers });
        return answer.publicKey;
      }),
      await attempt(name, "Refresh", async () => {
        const answer = await client.refresh({ items: [{ refreshToken }] });
        return answer.responses[0]?.accessToken ?? "";
      }),
      await attempt(name, "Refresh with a bad token", async () => {
        const answer = await client.refresh({ items: [{ refreshToken: "not-a-refresh-token" }] });
        return answer.responses[0]?.accessToken ?? "";
      }),
    );
  }
  return results;
}

void runCalls().then((results) => {
  const out = document.getElementById("results");
  if (out === null) return;
  out.textContent = JSON.stringify(results, null, 2);
  out.setAttribute("data-done", "true");
});
