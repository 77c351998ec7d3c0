import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";

import type { TlsConfig } from "../config/tls-config.js";
import type { RequestListener } from "./request-listener.js";
import { TRANSPORT_LIMITS as LIMITS } from "./transport-limits.js";

/** HttpFrontDoorOptions are what to answer with and how the port speaks. */
export interface HttpFrontDoorOptions {
  listener: RequestListener;
  /**
   * Answers some HTTP/2 streams before the compatibility layer that feeds
   * `listener` sees them; it returns whether it took the stream.
   */
  takeStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /** With TLS, the port speaks HTTPS only; without, cleartext HTTP/1.1 and HTTP/2. */
  tls: TlsConfig | undefined;
  /** Paths of streams that may stay quiet for long, exempt from the stream idle timeout. */
  longLivedPaths: ReadonlySet<string>;
}

// Every cleartext HTTP/2 connection opens with this preface (RFC 9113 §3.4),
// and HTTP/1.1 reserves the method "PRI" for exactly this, so the first bytes
// tell the two apart without guessing.
const HTTP2_PREFACE_START = Buffer.from("PRI * HTTP/2.0");

const HTTP2_SETTINGS: http2.Settings = {
  maxConcurrentStreams: LIMITS.maxConcurrentStreams,
  maxHeaderListSize: LIMITS.maxHeaderBytes,
};

/** The HTTP/1.1 knobs that an HTTP/2 server with allowHTTP1 reads, which its typings lack. */
interface Http1Knobs {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  keepAliveTimeout: number;
  maxHeaderSize: number;
}

/**
 * HttpFrontDoor is the one port of the service. In cleartext it serves
 * HTTP/1.1 (Connect, gRPC-Web, UCloud's JSON routes) and HTTP/2 with prior
 * knowledge (gRPC), telling them apart by the first bytes of a connection;
 * with TLS it serves both, chosen by ALPN. It shuts down gracefully: no new
 * connections, GOAWAY to HTTP/2 clients, calls in flight drained up to a
 * grace period, then whatever is left is cut.
 */
export class HttpFrontDoor {
  private readonly server: http.Server | http2.Http2SecureServer;
  private readonly closeIdleConnections: () => void;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();
  private closing = false;

  constructor(private readonly options: HttpFrontDoorOptions) {
    const listener: RequestListener = (request, response) => {
      if (request instanceof http.IncomingMessage && response instanceof http.ServerResponse) {
        this.adviseClosing(response);
        dropAbandonedConnection(request, response);
      }
      options.listener(request, response);
    };

    if (options.tls === undefined) {
      const server = this.cleartextServer(listener);
      this.server = server;
      this.closeIdleConnections = () => server.closeIdleConnections();
    } else {
      const server = this.tlsServer(options.tls, listener);
      this.server = server;
      // An allowHTTP1 server tracks its HTTP/1.1 connections like an
      // http.Server does; only the typings leave the method out.
      const tracked = server as unknown as { closeIdleConnections(): void };
      this.closeIdleConnections = () => tracked.closeIdleConnections();
    }
  }

  /** listen starts accepting on host:port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** close stops accepting, lets calls in flight finish for up to `graceMs`, then cuts the rest. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const allClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));

    // GOAWAY: the client opens no new stream here; open ones run to their end.
    for (const session of this.sessions) session.close();
    this.closeIdleConnections();

    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([allClosed, graceOver]);
    clearTimeout(timer);

    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await allClosed;
  }

  private cleartextServer(listener: RequestListener): http.Server {
    const http1 = http.createServer(
      {
        headersTimeout: LIMITS.headersTimeoutMs,
        requestTimeout: LIMITS.requestTimeoutMs,
        connectionsCheckingInterval: LIMITS.connectionsCheckingIntervalMs,
        keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
        maxHeaderSize: LIMITS.maxHeaderBytes,
      },
      listener,
    );
    const h2c = http2.createServer(
      { maxSessionMemory: LIMITS.http2MaxSessionMemoryMb, settings: HTTP2_SETTINGS },
      listener,
    );
    this.offerStreams(h2c);
    this.limitHttp2(h2c);

    // The HTTP/1.1 server owns the listening socket, so its timeouts and
    // connection tracking work as usual; its own connection handler runs only
    // for connections that turn out not to be HTTP/2.
    const http1Accept = http1.listeners("connection") as ((s: Socket) => void)[];
    http1.removeAllListeners("connection");
    http1.on("connection", (socket: Socket) => {
      this.track(socket);
      this.sniff(socket, (isHttp2) => {
        if (isHttp2) h2c.emit("connection", socket);
        else for (const accept of http1Accept) accept.call(http1, socket);
      });
    });
    return http1;
  }

  private tlsServer(tls: TlsConfig, listener: RequestListener): http2.Http2SecureServer {
    const requireClientCert = tls.clientCa !== undefined;
    const server = http2.createSecureServer(
      {
        cert: tls.cert,
        key: tls.key,
        ca: tls.clientCa,
        requestCert: requireClientCert,
        rejectUnauthorized: requireClientCert,
        minVersion: "TLSv1.2",
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        handshakeTimeout: LIMITS.handshakeTimeoutMs,
        maxSessionMemory: LIMITS.http2MaxSessionMemoryMb,
        settings: HTTP2_SETTINGS,
      },
      listener,
    );
    const knobs: Http1Knobs = {
      headersTimeout: LIMITS.headersTimeoutMs,
      requestTimeout: LIMITS.requestTimeoutMs,
      connectionsCheckingInterval: LIMITS.connectionsCheckingIntervalMs,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
      maxHeaderSize: LIMITS.maxHeaderBytes,
    };
    Object.assign(server, knobs);
    this.offerStreams(server);
    this.limitHttp2(server);
    server.on("connection", (socket: Socket) => this.track(socket));
    return server;
  }

  // The compatibility layer listens for "stream" from the moment the server
  // is made; takeStream gets each stream first, and the rest go on to it.
  // The limits added after this apply to every stream alike.
  private offerStreams(server: http2.Http2Server | http2.Http2SecureServer): void {
    const take = this.options.takeStream;
    if (take === undefined) return;
    const compat = server.listeners("stream") as ((...args: unknown[]) => void)[];
    server.removeAllListeners("stream");
    server.on("stream", (stream: http2.ServerHttp2Stream, headers, ...rest: unknown[]) => {
      if (take(stream, headers)) return;
      for (const listener of compat) listener.call(server, stream, headers, ...rest);
    });
  }

  private limitHttp2(server: http2.Http2Server | http2.Http2SecureServer): void {
    server.setTimeout(LIMITS.connectionIdleTimeoutMs);
    server.on("session", (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
      // A connection that raced the shutdown gets its GOAWAY at once.
      if (this.closing) session.close();
    });
    server.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
      // Trailers end a gRPC answer. A client still sending its request then
      // (say, a message over the size limit) would keep the stream, and so a
      // graceful shutdown, open; RFC 9113 §8.1 lets the server stop it with
      // RST_STREAM(NO_ERROR), sent after the trailers already queued.
      stream.once("wantTrailers", () => {
        setImmediate(() => {
          if (stream.destroyed || stream.readableEnded) return;
          stream.close(http2.constants.NGHTTP2_NO_ERROR);
          stream.destroy();
        });
      });
      if (this.options.longLivedPaths.has(headers[":path"] ?? "")) return;
      stream.setTimeout(LIMITS.http2StreamIdleTimeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      // The idle timeout alone lets a client trickle one byte a minute for
      // ever; as over HTTP/1.1, the whole request must arrive in bounded time.
      const slowRequest = setTimeout(() => {
        if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_CANCEL);
      }, LIMITS.requestTimeoutMs);
      slowRequest.unref();
      stream.once("end", () => clearTimeout(slowRequest));
      stream.once("close", () => clearTimeout(slowRequest));
    });
  }

  // While closing, an HTTP/1.1 connection is not kept alive past the answer
  // it is working on, so the drain can end as soon as the last call does.
  private adviseClosing(response: http.ServerResponse): void {
    if (this.closing) response.setHeader("connection", "close");
    response.once("finish", () => {
      if (this.closing) setImmediate(this.closeIdleConnections);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private sniff(socket: Socket, hand: (isHttp2: boolean) => void): void {
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
      hand(isHttp2);
      // The HTTP/2 session reads the buffered preface itself; resuming the
      // socket there would hand those bytes to nobody.
      if (!isHttp2) socket.resume();
    };

    socket.on("data", onData);
    socket.setTimeout(LIMITS.firstBytesTimeoutMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
  }
}

// dropAbandonedConnection closes an HTTP/1.1 connection once its answer is
// out if the handler gave up reading the request body (e.g. over the size
// limit): the unread rest would otherwise hold the connection open.
function dropAbandonedConnection(request: http.IncomingMessage, response: http.ServerResponse) {
  const socket = request.socket;
  response.once("finish", () => {
    if (request.destroyed && !request.complete) socket.destroySoon();
  });
}
