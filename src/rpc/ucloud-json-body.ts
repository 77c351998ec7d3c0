import type { Readable } from "node:stream";

import type { BulkOf } from "./provider-auth-calls.js";

/**
 * JsonRequestError refuses a request on UCloud's JSON routes before any call
 * is made: wrong media type, too large, not JSON, or not the expected shape.
 */
export class JsonRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = "JsonRequestError";
  }
}

// A client that keeps sending past this after its body was refused is cut
// off instead of being read to the end.
const DISCARD_LIMIT_FACTOR = 32;

/** BodySource is the part of an HTTP/1.1 or HTTP/2 request the body reader needs. */
export interface BodySource extends Readable {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * readJsonBody reads and parses a request body of at most `limitBytes`.
 * It resolves to undefined for an empty body. An oversized body is read to
 * its end and dropped (up to a bound), so that the client, still sending,
 * can read the refusal instead of seeing its connection reset.
 */
export async function readJsonBody(request: BodySource, limitBytes: number): Promise<unknown> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > limitBytes * DISCARD_LIMIT_FACTOR) throw tooLarge(limitBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes * DISCARD_LIMIT_FACTOR) throw tooLarge(limitBytes);
    if (size <= limitBytes) chunks.push(chunk);
  }
  if (size > limitBytes) throw tooLarge(limitBytes);
  if (size === 0) return undefined;

  checkMediaType(request.headers["content-type"]);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalid("the body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const detail = error instanceof SyntaxError ? `: ${error.message}` : "";
    throw invalid(`the body is not valid JSON${detail}`);
  }
}

/**
 * bulkRequest checks UCloud's bulk framing, `{"type": "bulk", "items": [...]}`
 * with `type` optional, and that each item is an object whose only field is
 * `field`, a string. A missing or null field reads as "", which the domain
 * then refuses with its own message; anything else unexpected is refused.
 */
export function bulkRequest<F extends string>(body: unknown, field: F): BulkOf<Record<F, string>> {
  const object = asObject(body ?? {}, "the body");
  rejectUnknownKeys(object, ["type", "items"], "the body", "a bulk request has only");

  const type = object.type;
  if (type !== undefined && type !== "bulk") {
    throw invalid(`"type" must be "bulk" when present, got ${JSON.stringify(type)}`);
  }

  const items = object.items ?? [];
  if (!Array.isArray(items)) throw invalid(`"items" must be an array, got ${kindOf(items)}`);

  return {
    items: items.map((item: unknown, index) => {
      const where = `items[${index}]`;
      const fields = asObject(item, where);
      rejectUnknownKeys(fields, [field], where, "an item has only");
      return { [field]: stringField(fields[field], `${where}.${field}`) } as Record<F, string>;
    }),
  };
}

/** emptyRequest accepts an empty body or `{}`, for calls that take no arguments. */
export function emptyRequest(body: unknown): object {
  const object = asObject(body ?? {}, "the body");
  rejectUnknownKeys(object, [], "the body", "this call takes");
  return {};
}

/** singleQueryParameter reads `?name=...` once, refusing repeats and any other parameter. */
export function singleQueryParameter(url: URL, name: string): string {
  for (const key of url.searchParams.keys()) {
    if (key !== name) throw invalid(`unknown query parameter ${JSON.stringify(key)}`);
  }
  const values = url.searchParams.getAll(name);
  if (values.length > 1) throw invalid(`the query parameter "${name}" is repeated`);
  return values[0] ?? "";
}

function checkMediaType(header: string | string[] | undefined): void {
  const value = Array.isArray(header) ? header[0] : header;
  const [mediaType = "", ...parameters] = (value ?? "").split(";").map((p) => p.trim());
  const charset = parameters.find((p) => p.toLowerCase().startsWith("charset="));

  const isJson = mediaType.toLowerCase() === "application/json";
  const isUtf8 = charset === undefined || /^charset="?utf-8"?$/i.test(charset);
  if (!isJson || !isUtf8) {
    throw new JsonRequestError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `send the body as content-type application/json (UTF-8), not ${JSON.stringify(value ?? "")}`,
    );
  }
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${where} must be a JSON object, got ${kindOf(value)}`);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(
  object: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
  hint: string,
): void {
  const unknown = Object.keys(object).find((key) => !allowed.includes(key));
  if (unknown === undefined) return;
  const expected = allowed.length === 0 ? "no fields" : allowed.map((k) => `"${k}"`).join(" and ");
  throw invalid(`${where} has an unknown field ${JSON.stringify(unknown)}: ${hint} ${expected}`);
}

function stringField(value: unknown, where: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw invalid(`${where} must be a string, got ${kindOf(value)}`);
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function invalid(message: string): JsonRequestError {
  return new JsonRequestError(400, "INVALID_ARGUMENT", message);
}

function tooLarge(limitBytes: number): JsonRequestError {
  return new JsonRequestError(
    413,
    "PAYLOAD_TOO_LARGE",
    `the body is larger than ${limitBytes / 1024} KiB: send fewer items per request`,
  );
}
