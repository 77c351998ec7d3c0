import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";

import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
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
import { internalError, isDomainError } from "../domain/errors.js";
import type { CallBoundary, CallRecord } from "../rpc/call-boundary.js";
import { callAbortReason, codeName, toConnectError } from "../rpc/connect-codes.js";
import { DECODE_FAILURE, encodeGrpcMessage } from "./transport-answers.js";
import type { ProviderAuthCalls } from "../rpc/provider-auth-calls.js";

/** GrpcFastPathOptions are what the fast path shares with the Connect handlers. */
export interface GrpcFastPathOptions {
  calls: ProviderAuthCalls;
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
    calls: ProviderAuthCalls,
    request: MessageShape<I>,
    record: CallRecord,
  ) => Promise<MessageInitShape<O>>;
}

// Only the calls every provider makes every few minutes are worth a path of
// their own; everything else stays with Connect.
const ROUTES = new Map<string, Route<DescMessage, DescMessage>>([
  route("/ucloud.auth.v1.AuthProvidersService/Refresh", {
    rpc: "Refresh",
    input: RefreshRequestSchema,
    output: RefreshResponseSchema,
    work: (calls, request, record) => calls.Refresh(request, record),
  }),
  route("/ucloud.auth.v1.AuthProvidersService/RefreshAsOrchestrator", {
    rpc: "RefreshAsOrchestrator",
    input: RefreshAsOrchestratorRequestSchema,
    output: RefreshAsOrchestratorResponseSchema,
    work: (calls, request, record) => calls.RefreshAsOrchestrator(request, record),
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
 * answer with the headers and trailers Connect sends, with the same
 * deadline, cancellation and malformed-message handling as the Connect
 * path. Any other call, gRPC with the JSON codec, and any request that
 * carries an Origin (the CORS policy's to judge) are left to Connect.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions): GrpcFastPath {
  return (stream, headers) => {
    if (headers[":method"] !== "POST" || headers["origin"] !== undefined) return false;
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
  const peer = stream.session?.socket?.remoteAddress ?? "unknown";

  const compression = compressionNegotiate(
    ACCEPT_COMPRESSION,
    header(headers, headerEncoding),
    header(headers, headerAcceptEncoding),
    headerAcceptEncoding,
  );
  const timeout = parseTimeout(header(headers, headerTimeout), options.maxTimeoutMs);
  // As on the Connect path: the client's deadline runs from here, and the
  // call is cancelled if its stream closes before the answer. One signal
  // carries both, and nothing is left listening once the call is over.
  const stop = new AbortController();
  const deadlineAt =
    timeout.timeoutMs === undefined ? undefined : performance.now() + timeout.timeoutMs;
  const remainingMs = () => (deadlineAt === undefined ? undefined : deadlineAt - performance.now());
  const onDeadline = () => stop.abort(callAbortReason(true, remainingMs()));
  const onClose = () => stop.abort(callAbortReason(false, remainingMs()));
  const timer =
    timeout.timeoutMs === undefined || timeout.timeoutMs <= 0
      ? undefined
      : setTimeout(onDeadline, timeout.timeoutMs);
  if (timeout.timeoutMs !== undefined && timeout.timeoutMs <= 0) onDeadline();
  stream.once("close", onClose);
  const responseHeaders: OutgoingHttpHeaders = {
    ":status": 200,
    "content-type": contentTypeProto,
    ...(compression.response === null
      ? {}
      : { [headerEncoding.toLowerCase()]: compression.response.name }),
  };

  // Connect reports these before it reads any of the body, in this order.
  try {
    // Refused before the boundary sees the call, so its log line is written here.
    const refuse = (error: ConnectError, reason: string) => {
      options.boundary.logRefused({
        rpc: found.rpc,
        protocol: "grpc",
        peer,
        outcome: codeName(error.code),
        reason,
      });
      answer(stream, responseHeaders, undefined, error);
    };

    const early = compression.error ?? timeout.error;
    if (early !== undefined) {
      refuse(early, "refused_by_transport");
      return;
    }

    const body = await readBody(stream, options.readMaxBytes);
    if (body === undefined) return;

    let request;
    try {
      request = await singleMessage(body, found.input, compression.request, options.readMaxBytes);
    } catch (error) {
      const refused = asConnectError(error);
      if (refused.code !== Code.Internal || !DECODE_FAILURE.test(refused.rawMessage)) {
        refuse(refused, "refused_by_transport");
        return;
      }
      const message = `the request is not a valid ${found.input.typeName} message`;
      refuse(new ConnectError(message, Code.InvalidArgument), "malformed_message");
      return;
    }

    const call = {
      rpc: found.rpc,
      authorization: header(headers, "authorization") ?? undefined,
      peer,
      protocol: "grpc",
      signal: stop.signal,
    };
    let response;
    try {
      response = await options.boundary.run(call, (record) =>
        found.work(options.calls, request, record),
      );
    } catch (error) {
      answer(stream, responseHeaders, undefined, toConnectError(asDomainError(error)));
      return;
    }

    const envelope = await envelopeCompress(
      { flags: 0, data: toBinary(found.output, create(found.output, response)) },
      compression.response,
      COMPRESS_MIN_BYTES,
    );
    answer(stream, responseHeaders, encodeEnvelope(envelope.flags, envelope.data), undefined);
  } finally {
    clearTimeout(timer);
    stream.off("close", onClose);
  }
}

function asDomainError(error: unknown) {
  return isDomainError(error) ? error : internalError(error);
}

/**
 * readBody collects the request body until it ends, or until its outcome is
 * already decided: as soon as an envelope announces more than readMaxBytes
 * (Connect answers then, while the client still sends), or once two whole
 * envelopes are in (Connect decides a unary request from at most its first
 * two), so a client cannot make us hold more. Chunks are kept in a list and
 * envelope headers are read once each as they complete: a flood of tiny
 * frames costs time in proportion to its size, never to its square.
 */
function readBody(stream: ServerHttp2Stream, readMaxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const scan = new EnvelopeScan(readMaxBytes);
    let settled = false;
    const settle = (value: Buffer | undefined) => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      if (scan.add(chunk)) settle(scan.body());
    };
    const onEnd = () => settle(scan.body());
    // A client that resets or goes away gets no answer, as from Connect.
    const onClose = () => settle(undefined);

    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onClose);
  });
}

/** EnvelopeScan follows gRPC envelope boundaries across chunks, reading each header once. */
class EnvelopeScan {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  // Where the next envelope header starts, where the envelope whose header
  // has been read ends, and how many whole envelopes are in.
  private nextHeader = 0;
  private pendingEnd: number | undefined;
  private envelopes = 0;

  constructor(private readonly readMaxBytes: number) {}

  /** add takes one chunk and tells whether the request's outcome is decided. */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.received += chunk.length;

    for (;;) {
      if (this.pendingEnd === undefined) {
        if (this.received - this.nextHeader < ENVELOPE_HEADER_BYTES) return false;
        const length = this.readLength(this.nextHeader + 1);
        if (length > this.readMaxBytes) return true;
        this.pendingEnd = this.nextHeader + ENVELOPE_HEADER_BYTES + length;
      }
      if (this.pendingEnd > this.received) return false;

      this.nextHeader = this.pendingEnd;
      this.pendingEnd = undefined;
      this.envelopes += 1;
      if (this.envelopes >= 2) return true;
    }
  }

  /** body is everything received so far, as one buffer. */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }

  // Reads the 4-byte big-endian length at `offset`, which may span chunks.
  private readLength(offset: number): number {
    let value = 0;
    for (let i = 0; i < 4; i++) value = value * 256 + this.byteAt(offset + i);
    return value;
  }

  private byteAt(offset: number): number {
    let start = 0;
    for (const chunk of this.chunks) {
      if (offset < start + chunk.length) return chunk[offset - start]!;
      start += chunk.length;
    }
    throw new Error("offset past the received bytes");
  }
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
    // Connect over-escapes the message; send it as the gRPC spec says, the
    // same way the Connect path's answers are corrected.
    trailers[key] = key === "grpc-message" ? encodeGrpcMessage(decodeURIComponent(value)) : value;
  });

  stream.respond(headers, { waitForTrailers: true });
  // Before the front door's own listener, which ends a stream whose client is
  // still sending once the trailers are out: they must be out first.
  stream.prependOnceListener("wantTrailers", () => stream.sendTrailers(trailers));
  if (body === undefined) stream.end();
  else stream.end(body);
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  // Connect spells header names in title case; Node hands them over in lower case.
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}
