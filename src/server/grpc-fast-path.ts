import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";

import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import {
  compressionNegotiate,
  encodeEnvelope,
  envelopeCompress,
  envelopeDecompress,
  type Compression,
} from "@connectrpc/connect/protocol";
import {
  contentTypeProto,
  headerAcceptEncoding,
  headerEncoding,
  headerTimeout,
  parseContentType,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";

import {
  RefreshAsOrchestratorRequestSchema,
  RefreshAsOrchestratorResponseSchema,
  RefreshRequestSchema,
  RefreshResponseSchema,
} from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import type { RpcName } from "../auth/call-policy.js";
import type { DomainError } from "../domain/errors.js";
import type { ProviderAuth } from "../domain/provider-auth.js";
import { refreshAsOrchestratorWork, refreshWork } from "../rpc/auth-providers-handlers.js";
import type { CallBoundary, CallRecord } from "../rpc/call-boundary.js";
import { toConnectError } from "../rpc/connect-codes.js";

/** GrpcFastPathOptions are what the fast path shares with the Connect handlers. */
export interface GrpcFastPathOptions {
  domain: ProviderAuth;
  boundary: CallBoundary;
  /** As for the Connect handlers: the largest request message accepted. */
  readMaxBytes: number;
  /** As for the Connect handlers: the upper bound on a client's grpc-timeout. */
  maxTimeoutMs: number;
}

/** GrpcFastPath takes a stream it can answer and returns true, or leaves it and returns false. */
export type GrpcFastPath = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

interface Route<I extends DescMessage, O extends DescMessage> {
  rpc: RpcName;
  input: I;
  output: O;
  work: (
    domain: ProviderAuth,
    request: MessageShape<I>,
  ) => (record: CallRecord) => Promise<MessageShape<O>>;
}

// Only the calls every provider makes every few minutes are worth a path of
// their own; everything else stays with Connect.
const ROUTES = new Map<string, Route<DescMessage, DescMessage>>([
  route("/ucloud.auth.v1.AuthProvidersService/Refresh", {
    rpc: "Refresh",
    input: RefreshRequestSchema,
    output: RefreshResponseSchema,
    work: refreshWork,
  }),
  route("/ucloud.auth.v1.AuthProvidersService/RefreshAsOrchestrator", {
    rpc: "RefreshAsOrchestrator",
    input: RefreshAsOrchestratorRequestSchema,
    output: RefreshAsOrchestratorResponseSchema,
    work: refreshAsOrchestratorWork,
  }),
]);

function route<I extends DescMessage, O extends DescMessage>(
  path: string,
  r: Route<I, O>,
): [string, Route<DescMessage, DescMessage>] {
  return [path, r as unknown as Route<DescMessage, DescMessage>];
}

// The same choices connectNodeAdapter makes when given none.
const ACCEPT_COMPRESSION: Compression[] = [compressionGzip, compressionBrotli];
const COMPRESS_MIN_BYTES = 1024;
const ENVELOPE_HEADER_BYTES = 5;

/**
 * createGrpcFastPath answers plain gRPC calls of Refresh and
 * RefreshAsOrchestrator straight on the HTTP/2 stream. Connect's generic
 * pipeline costs several times an RSA signature per call; this does the same
 * steps in a straight line: negotiate compression and timeout with Connect's
 * own functions, split and parse the request envelope with Connect's rules
 * and messages, run the call through the same boundary and domain, and
 * answer with the headers and trailers Connect sends. Any other call, and
 * gRPC with the JSON codec, is left to Connect.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions): GrpcFastPath {
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const found = ROUTES.get(headers[":path"] ?? "");
    if (found === undefined) return false;
    const type = parseContentType(header(headers, "content-type"));
    if (type === undefined || !type.binary) return false;

    serve(options, found, stream, headers).catch(() => stream.destroy());
    return true;
  };
}

async function serve(
  options: GrpcFastPathOptions,
  found: Route<DescMessage, DescMessage>,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): Promise<void> {
  // Without a listener, a reset from the client would be an uncaught error.
  stream.on("error", () => {});

  const compression = compressionNegotiate(
    ACCEPT_COMPRESSION,
    header(headers, headerEncoding),
    header(headers, headerAcceptEncoding),
    headerAcceptEncoding,
  );
  const timeout = parseTimeout(header(headers, headerTimeout), options.maxTimeoutMs);
  const responseHeaders: OutgoingHttpHeaders = {
    ":status": 200,
    "content-type": contentTypeProto,
    ...(compression.response === null
      ? {}
      : { [headerEncoding.toLowerCase()]: compression.response.name }),
  };

  // Connect reports these before it reads any of the body, in this order.
  const early = compression.error ?? timeout.error;
  if (early !== undefined) {
    answer(stream, responseHeaders, undefined, early);
    return;
  }

  const body = await readBody(stream, bodyCap(options.readMaxBytes));
  if (body === undefined) return;

  let request;
  try {
    request = await singleMessage(body, found.input, compression.request, options.readMaxBytes);
  } catch (error) {
    answer(stream, responseHeaders, undefined, asConnectError(error));
    return;
  }

  const call = {
    rpc: found.rpc,
    authorization: header(headers, "authorization") ?? undefined,
    peer: stream.session?.socket?.remoteAddress ?? "unknown",
    protocol: "grpc",
  };
  let response;
  try {
    response = await options.boundary.run(call, found.work(options.domain, request));
  } catch (error) {
    answer(stream, responseHeaders, undefined, toConnectError(error as DomainError));
    return;
  }

  const envelope = await envelopeCompress(
    { flags: 0, data: toBinary(found.output, response) },
    compression.response,
    COMPRESS_MIN_BYTES,
  );
  answer(stream, responseHeaders, encodeEnvelope(envelope.flags, envelope.data), undefined);
}

// Connect decides a unary request from at most its first two envelopes, so
// reading more than two of the largest allowed never changes the outcome and
// a client cannot make us hold an unbounded body.
function bodyCap(readMaxBytes: number): number {
  return 2 * (ENVELOPE_HEADER_BYTES + readMaxBytes) + 1;
}

function readBody(stream: ServerHttp2Stream, cap: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const settle = (value: Buffer | undefined) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };

    stream.on("data", (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      length += chunk.length;
      if (length >= cap) settle(Buffer.concat(chunks, length));
    });
    stream.once("end", () => settle(Buffer.concat(chunks, length)));
    // A client that resets or goes away gets no answer, as from Connect.
    stream.once("close", () => settle(undefined));
  });
}

/**
 * singleMessage applies Connect's reading of a unary gRPC request body that
 * arrived whole: every complete envelope's size is checked first, then the
 * first message is decompressed and parsed, then a second one is, and only
 * then is a second message, a missing one or a partial tail an error.
 */
async function singleMessage(
  body: Buffer,
  schema: DescMessage,
  compression: Compression | null,
  readMaxBytes: number,
): Promise<MessageShape<DescMessage>> {
  const envelopes: { flags: number; data: Uint8Array }[] = [];
  let offset = 0;
  while (body.length - offset >= ENVELOPE_HEADER_BYTES) {
    const length = body.readUInt32BE(offset + 1);
    if (length > readMaxBytes) {
      throw new ConnectError(
        `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    const start = offset + ENVELOPE_HEADER_BYTES;
    if (body.length - start < length) break;
    envelopes.push({ flags: body[offset]!, data: body.subarray(start, start + length) });
    offset = start + length;
  }
  const partialTail = offset < body.length;

  const parse = async (envelope: { flags: number; data: Uint8Array }) => {
    const { data } = await envelopeDecompress(envelope, compression, readMaxBytes);
    try {
      return fromBinary(schema, data);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConnectError(`parse binary: ${message}`, Code.Internal);
    }
  };

  const [first, second] = envelopes;
  if (first === undefined) {
    if (partialTail) throw incompleteEnvelope();
    throw new ConnectError(
      "protocol error: missing input message for unary method",
      Code.Unimplemented,
    );
  }
  const message = await parse(first);
  if (second !== undefined) {
    await parse(second);
    throw new ConnectError(
      "protocol error: received extra input message for unary method",
      Code.Unimplemented,
    );
  }
  if (partialTail) throw incompleteEnvelope();
  return message;
}

function incompleteEnvelope(): ConnectError {
  return new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
}

function asConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}

// Headers first, then the message if there is one, then the status in the
// trailers: the frames Connect's Node adapter sends for a unary gRPC call.
function answer(
  stream: ServerHttp2Stream,
  headers: OutgoingHttpHeaders,
  body: Uint8Array | undefined,
  error: ConnectError | undefined,
): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;

  const trailers: OutgoingHttpHeaders = {};
  setTrailerStatus(new Headers(), error).forEach((value, key) => {
    trailers[key] = value;
  });

  stream.respond(headers, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  if (body === undefined) stream.end();
  else stream.end(body);
  // Whatever the client still sends is not read; let it drain.
  stream.resume();
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  // Connect spells header names in title case; Node hands them over in lower case.
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}
