import type { RandomSource } from "./random.js";

/**
 * Claim and refresh tokens are 256 random bits in base64url (43 characters,
 * no padding). Only this exact shape is ever looked up, so a malformed token
 * costs no hashing and no store call.
 */
const SECRET_TOKEN_BYTES = 32;
const SECRET_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** newSecretToken draws a fresh claim or refresh token. */
export function newSecretToken(random: RandomSource): string {
  return random(SECRET_TOKEN_BYTES).toString("base64url");
}

/** isWellFormedSecretToken tells whether a string can be a token this service issued. */
export function isWellFormedSecretToken(value: unknown): value is string {
  return typeof value === "string" && SECRET_TOKEN_SHAPE.test(value);
}
