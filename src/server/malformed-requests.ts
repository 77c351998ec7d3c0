import type { ContextValues } from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";

/**
 * Connect answers a request whose protobuf bytes do not decode with
 * INTERNAL and the decoder's own message, as if the server had failed. Here
 * the client sent a malformed message, so this wrapper turns exactly that
 * answer into INVALID_ARGUMENT with a message a person can act on, in each
 * of the three protocols, and reports the call so it still gets its log line.
 */

/** MalformedRequest is what the log needs to know of a request refused before any handler ran. */
export interface MalformedRequest {
  rpc: string;
  protocol: string;
  contextValues: ContextValues | undefined;
}

// Connect's decoder failure, server side: only request parsing says this.
const DECODE_FAILURE = /^parse binary: /;
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";
// A gRPC-Web trailer frame: flag byte 0x80, then a 4-byte length.
const TRAILER_FLAG = 0x80;

/** refuseMalformedRequests wraps a Connect handler so a malformed request is INVALID_ARGUMENT. */
export function refuseMalformedRequests(
  handler: UniversalHandler,
  report: (request: MalformedRequest) => void,
): UniversalHandler {
  const message = `the request is not a valid ${handler.method.input.typeName} message`;

  const wrapped = async (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const response = await handler(request);
    const protocol = protocolOf(response);
    const refused = () =>
      report({ rpc: handler.method.name, protocol, contextValues: request.contextValues });

    if (protocol === "connect" && response.status !== 200 && response.body !== undefined) {
      return rewriteConnectError(response, message, refused);
    }
    if (response.body === undefined) {
      if (rewriteGrpcStatus(response.header, message)) refused();
      return response;
    }
    return { ...response, body: watchGrpcStatus(response, message, refused) };
  };
  return Object.assign(wrapped, handler);
}

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
  refused: () => void,
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
  if (!malformed) return { ...response, body: once(body) };

  refused();
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
  refused: () => void,
): AsyncIterable<Uint8Array> {
  let rewritten = false;
  for await (const chunk of response.body!) {
    const frame = rewriteTrailerFrame(chunk, message);
    rewritten ||= frame !== chunk;
    yield frame;
  }
  rewritten = rewriteGrpcStatus(response.header, message) || rewritten;
  rewritten = rewriteGrpcStatus(response.trailer, message) || rewritten;
  if (rewritten) refused();
}

function rewriteGrpcStatus(headers: Headers | undefined, message: string): boolean {
  if (headers?.get("grpc-status") !== GRPC_INTERNAL) return false;
  const detail = decodeURIComponent(headers.get("grpc-message") ?? "");
  if (!DECODE_FAILURE.test(detail)) return false;

  headers.set("grpc-status", GRPC_INVALID_ARGUMENT);
  headers.set("grpc-message", encodeURIComponent(message));
  return true;
}

function rewriteTrailerFrame(chunk: Uint8Array, message: string): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== TRAILER_FLAG) return chunk;

  const fields = new Headers();
  for (const line of Buffer.from(chunk.subarray(5)).toString("utf8").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (!rewriteGrpcStatus(fields, message)) return chunk;

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
