import { describe, expect, it } from "vitest";

import { rememberSecretsIn, secretsFoundIn } from "../support/secret-ledger.js";
import { connectClient } from "../support/api-clients.js";
import { startTestService } from "../support/running-service.js";

describe("the log scan every test service runs when it stops", () => {
  it("finds a handed-out secret that reached a log line", () => {
    const refreshToken = "r".repeat(43);
    rememberSecretsIn({ responses: [{ refreshToken }] });
    expect(secretsFoundIn([`{"event":"call","oops":"${refreshToken}"}`]).found).toBe(1);
    expect(secretsFoundIn(['{"event":"call"}']).found).toBe(0);
  });

  it("fails the stop of a service whose log holds a secret", async () => {
    const test = await startTestService();
    const api = connectClient(test.service.url, "connect");
    const registered = await api.call("Register", { items: [{ id: "leak" }] }, test.serviceToken);
    const [{ claimToken }] = registered.responses as [{ claimToken: string }];

    test.logLines.push(`{"event":"planted","value":"${claimToken}"}`);
    await expect(test.close()).rejects.toThrow(/secrets handed out appear in the service log/);
  });
});
