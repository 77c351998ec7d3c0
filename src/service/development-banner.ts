/**
 * developmentBanner is the text the embedded mode prints for a person at a
 * terminal: the generated service token and a call that works as pasted.
 */
export function developmentBanner(url: string, token: string): string {
  const rpc = `${url}/ucloud.auth.v1.AuthProvidersService`;
  return [
    "",
    "provider-auth is running in development mode: in-memory store, generated keys.",
    "Everything is lost when the process stops. Do not use this mode in production.",
    "",
    "Development service token (subject _ucloud, role SERVICE, valid 12 hours):",
    "",
    `  export TOKEN=${token}`,
    "",
    "Register a provider and get its claim token:",
    "",
    `  curl -s -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
    `    -d '{"items":[{"id":"hippo"}]}' ${rpc}/Register`,
    "",
    "",
  ].join("\n");
}
