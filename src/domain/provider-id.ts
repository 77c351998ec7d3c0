import { DomainError } from "./errors.js";

// UCloud provider ids are short lower-case words ("ucloud", "hippo", "k8s").
const PROVIDER_ID_SHAPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * checkProviderId rejects anything but a well-formed provider id. The value
 * itself is left out of the message: a malformed field may hold anything,
 * including a secret pasted into the wrong place.
 */
export function checkProviderId(value: unknown, field: string): string {
  if (typeof value !== "string" || !PROVIDER_ID_SHAPE.test(value)) {
    throw new DomainError(
      "invalid_argument",
      `${field} is not a valid provider id: use 1 to 64 characters of a-z, 0-9, '.', '_' ` +
        "and '-', starting with a letter or digit",
      { reason: "bad_provider_id" },
    );
  }
  return value;
}
