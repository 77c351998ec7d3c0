import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";

import type { Logger } from "../log/logger.js";
import type { ProviderAuth } from "../domain/provider-auth.js";
import type { CallBoundary } from "../rpc/call-boundary.js";
import { createGrpcFastPath } from "./grpc-fast-path.js";
import { createRequestListener } from "./request-listener.js";

export interface HttpFrontDoorOptions {
  domain: ProviderAuth;
  boundary: CallBoundary;
  logger: Logger;
  /** false sends every call through Connect (tests that compare the two paths). */
  grpcFastPath?: boolean;
}

// Every cleartext HTTP/2 connection opens with this preface (RFC 9113 §3.4),
// and HTTP/1.1 reserves the method "PRI" for exactly this, so the first bytes
// tell the two apart without guessing.
const HTTP2_PREFACE_START = Buffer.from("PRI * HTTP/2.0");

const LIMITS = {
  readMaxBytes: 256 * 1024,
  maxTimeoutMs: 60_000,
  firstBytesTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  http2IdleTimeoutMs: 120_000,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 100,
};

/**
 * HttpFrontDoor is the one port of the service. It serves HTTP/1.1 (Connect,
 * gRPC-Web, UCloud's JSON routes) and HTTP/2 with prior knowledge (gRPC) by
 * reading the first bytes of each connection, and it shuts down gracefully:
 * no new connections, GOAWAY to HTTP/2 clients, calls in flight drained up to
 * a grace period.
 */
export class HttpFrontDoor {
  private readonly http1: http.Server;
  private readonly http2: http2.Http2Server;
  private readonly sessions = new Set<http2.Http2Session>();
  private closing = false;

  constructor(options: HttpFrontDoorOptions) {
    const listener = createRequestListener({
      domain: options.domain,
      boundary: options.boundary,
      readMaxBytes: LIMITS.readMaxBytes,
      maxTimeoutMs: LIMITS.maxTimeoutMs,
    });

    this.http1 = http.createServer(
      {
        headersTimeout: LIMITS.headersTimeoutMs,
        requestTimeout: LIMITS.requestTimeoutMs,
        keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
        maxHeaderSize: LIMITS.maxHeaderBytes,
      },
      (request, response) => {
        if (this.closing) response.setHeader("connection", "close");
        listener(request, response);
      },
    );
    this.http2 = http2.createServer(
      {
        maxSessionMemory: 10,
        settings: {
          maxConcurrentStreams: LIMITS.maxConcurrentStreams,
          maxHeaderListSize: LIMITS.maxHeaderBytes,
        },
      },
      listener,
    );
    this.http2.setTimeout(LIMITS.http2IdleTimeoutMs);
    if (options.grpcFastPath !== false) this.takeHotGrpcCalls(options);
    this.http2.on("session", (session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });

    // The HTTP/1.1 server owns the listening socket, so its timeouts and
    // connection tracking work as usual; its own connection handler runs only
    // for connections that turn out not to be HTTP/2.
    const http1Accept = this.http1.listeners("connection") as ((s: Socket) => void)[];
    this.http1.removeAllListeners("connection");
    this.http1.on("connection", (socket: Socket) => this.sniff(socket, http1Accept));
  }

  /** listen starts accepting on host:port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http1.once("error", reject);
      this.http1.listen(port, host, () => {
        this.http1.off("error", reject);
        resolve(this.http1.address() as AddressInfo);
      });
    });
  }

  /** close stops accepting, lets calls in flight finish for up to `graceMs`, then cuts the rest. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const allClosed = new Promise<void>((resolve) => this.http1.close(() => resolve()));

    for (const session of this.sessions) session.close();
    this.http1.closeIdleConnections();

    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([allClosed, graceOver]);
    clearTimeout(timer);

    for (const session of this.sessions) session.destroy();
    this.http1.closeAllConnections();
    await allClosed;
  }

  // The compatibility layer that feeds Connect listens for "stream"; the hot
  // gRPC calls are taken before it sees them, everything else is passed on.
  private takeHotGrpcCalls(options: HttpFrontDoorOptions): void {
    const fastPath = createGrpcFastPath({
      domain: options.domain,
      boundary: options.boundary,
      readMaxBytes: LIMITS.readMaxBytes,
      maxTimeoutMs: LIMITS.maxTimeoutMs,
    });
    const compat = this.http2.listeners("stream") as ((...args: unknown[]) => void)[];
    this.http2.removeAllListeners("stream");
    this.http2.on("stream", (stream: http2.ServerHttp2Stream, headers, ...rest: unknown[]) => {
      if (fastPath(stream, headers)) return;
      for (const listener of compat) listener.call(this.http2, stream, headers, ...rest);
    });
  }

  private sniff(socket: Socket, http1Accept: readonly ((s: Socket) => void)[]): void {
    let received = Buffer.alloc(0);

    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const head = received.subarray(0, HTTP2_PREFACE_START.length);
      const isHttp2 = HTTP2_PREFACE_START.subarray(0, head.length).equals(head);
      if (isHttp2 && received.length < HTTP2_PREFACE_START.length) return;

      socket.removeListener("data", onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(received);

      if (isHttp2) {
        // The HTTP/2 session reads the buffered preface itself; resuming the
        // socket here would hand those bytes to nobody.
        this.http2.emit("connection", socket);
        return;
      }
      for (const accept of http1Accept) accept.call(this.http1, socket);
      socket.resume();
    };

    socket.on("data", onData);
    socket.setTimeout(LIMITS.firstBytesTimeoutMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
  }
}
