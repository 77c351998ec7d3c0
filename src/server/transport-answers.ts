import type { Code, ContextValues } from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";

import { codeName } from "../rpc/connect-codes.js";

/**
 * Three corrections to the answers Connect gives before or around our
 * handlers, in each of the three protocols:
 *
 * - A request whose protobuf bytes do not decode is answered INTERNAL with
 *   the decoder's message, as if the server had failed. The client sent a
 *   malformed message, so that answer becomes INVALID_ARGUMENT with a message
 *   a person can act on.
 * - Connect percent-encodes every reserved character of `grpc-message`,
 *   while the gRPC spec encodes only `%` and non-printable bytes, and
 *   @grpc/grpc-js decodes only that much, so its callers would read `%3A`
 *   for every colon. The message is re-encoded the spec's way.
 * - A request refused before it reached a handler (it does not decode, a
 *   JSON field has the wrong type) is reported, so it still gets a log line.
 */

/** RefusedRequest is what the log needs of a request the transport refused. */
export interface RefusedRequest {
  rpc: string;
  protocol: string;
  /** The wire code, e.g. "invalid_argument". */
  outcome: string;
  reason: string;
  contextValues: ContextValues | undefined;
}

/**
 * DECODE_FAILURE matches the INTERNAL messages Connect gives for a request
 * message that does not decode or decompress: on the server only a client's
 * bytes cause these.
 */
export const DECODE_FAILURE =
  /^(parse binary: |decompression failed|received compressed envelope, but do not know how)/;
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";
// A gRPC-Web trailer frame: flag byte 0x80, then a 4-byte length.
const TRAILER_FLAG = 0x80;

/**
 * correctTransportAnswers wraps a Connect handler with the corrections above.
 * `reachedHandler` tells whether our own code saw the request (and logged it).
 */
export function correctTransportAnswers(
  handler: UniversalHandler,
  reachedHandler: (request: UniversalServerRequest) => boolean,
  report: (request: RefusedRequest) => void,
): UniversalHandler {
  const message = `the request is not a valid ${handler.method.input.typeName} message`;

  const wrapped = async (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const response = await handler(request);
    const protocol = protocolOf(response);
    const refused = (outcome: string, malformed: boolean) => {
      if (reachedHandler(request)) return;
      report({
        rpc: handler.method.name,
        protocol,
        outcome,
        reason: malformed ? "malformed_message" : "refused_by_transport",
        contextValues: request.contextValues,
      });
    };

    if (protocol === "connect" && response.status !== 200 && response.body !== undefined) {
      return rewriteConnectError(response, message, refused);
    }
    if (response.body === undefined) {
      checkGrpcStatus(response.header, message, refused);
      return response;
    }
    return { ...response, body: watchGrpcStatus(response, message, refused) };
  };
  return Object.assign(wrapped, handler);
}

type Refused = (outcome: string, malformed: boolean) => void;

function protocolOf(response: UniversalServerResponse): string {
  const contentType = response.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

// A Connect unary error is one small JSON body, so it can be read whole
// before the status line goes out.
async function rewriteConnectError(
  response: UniversalServerResponse,
  message: string,
  refused: Refused,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body!) chunks.push(chunk);
  const body = Buffer.concat(chunks);

  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = JSON.parse(body.toString("utf8")) as typeof error;
  } catch {
    error = undefined;
  }
  const malformed =
    error?.code === "internal" &&
    typeof error.message === "string" &&
    DECODE_FAILURE.test(error.message);
  if (!malformed) {
    refused(typeof error?.code === "string" ? error.code : "unknown", false);
    return { ...response, body: once(body) };
  }

  refused("invalid_argument", true);
  const replaced = Buffer.from(JSON.stringify({ code: "invalid_argument", message }));
  response.header?.set("content-length", String(replaced.length));
  return { ...response, status: 400, body: once(replaced) };
}

// gRPC sends its status in trailers (or, with no message, in the headers);
// gRPC-Web in a final trailer frame of the body. Both are rewritten in
// passing, without holding back any message of a stream.
async function* watchGrpcStatus(
  response: UniversalServerResponse,
  message: string,
  refused: Refused,
): AsyncIterable<Uint8Array> {
  for await (const chunk of response.body!) yield rewriteTrailerFrame(chunk, message, refused);
  checkGrpcStatus(response.header, message, refused);
  checkGrpcStatus(response.trailer, message, refused);
}

/** checkGrpcStatus corrects a status in headers or trailers, and reports a refusal. */
function checkGrpcStatus(headers: Headers | undefined, message: string, refused: Refused): void {
  const status = headers?.get("grpc-status");
  if (headers === undefined || status === null || status === undefined || status === "0") return;

  const detail = decodeURIComponent(headers.get("grpc-message") ?? "");
  const malformed = status === GRPC_INTERNAL && DECODE_FAILURE.test(detail);
  if (malformed) headers.set("grpc-status", GRPC_INVALID_ARGUMENT);
  headers.set("grpc-message", encodeGrpcMessage(malformed ? message : detail));

  const code = malformed ? GRPC_INVALID_ARGUMENT : status;
  refused(codeName(Number(code) as Code), malformed);
}

/**
 * encodeGrpcMessage applies the gRPC spec's percent-encoding to a status
 * message: only `%` and bytes outside printable ASCII are escaped, which is
 * all that every client decodes.
 */
export function encodeGrpcMessage(message: string): string {
  let encoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    const printable = byte >= 0x20 && byte <= 0x7e && byte !== 0x25;
    encoded += printable
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

function rewriteTrailerFrame(chunk: Uint8Array, message: string, refused: Refused): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== TRAILER_FLAG) return chunk;

  const fields = new Headers();
  for (const line of Buffer.from(chunk.subarray(5)).toString("utf8").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const before = [...fields].join("\n");
  checkGrpcStatus(fields, message, refused);
  if ([...fields].join("\n") === before) return chunk;

  const text = [...fields].map(([name, value]) => `${name}: ${value}\r\n`).join("");
  const payload = Buffer.from(text, "utf8");
  const frame = Buffer.alloc(5 + payload.length);
  frame[0] = TRAILER_FLAG;
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
