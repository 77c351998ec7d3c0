/**
 * The secret ledger remembers every secret a test was handed (claim,
 * refresh and access tokens, private keys, caller tokens), so that every
 * service started in the same test file can prove, when it stops, that none
 * of them reached its log.
 */
const secrets = new Set<string>();

const SECRET_FIELDS = new Set(["claimToken", "refreshToken", "accessToken", "privateKey"]);

/** rememberSecret adds one secret to the ledger. */
export function rememberSecret(secret: string): void {
  if (secret.length >= 16) secrets.add(secret);
}

/** rememberSecretsIn walks a response and remembers every secret-bearing field. */
export function rememberSecretsIn(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach(rememberSecretsIn);
  } else if (value !== null && typeof value === "object") {
    for (const [key, field] of Object.entries(value)) {
      if (SECRET_FIELDS.has(key) && typeof field === "string") rememberSecret(field);
      else rememberSecretsIn(field);
    }
  }
}

/** secretsFoundIn counts the remembered secrets that occur in `lines`, and those checked. */
export function secretsFoundIn(lines: readonly string[]): { found: number; checked: number } {
  const text = lines.join("\n");
  let found = 0;
  for (const secret of secrets) if (text.includes(secret)) found += 1;
  return { found, checked: secrets.size };
}
