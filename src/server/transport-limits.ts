/**
 * TRANSPORT_LIMITS bounds what one client can make the server hold: message
 * size, call time, streams and header bytes per connection, and how long a
 * slow or idle connection may stay open.
 */
export const TRANSPORT_LIMITS = {
  /** Largest request message or JSON body; a bulk of 1000 items fits well within it. */
  readMaxBytes: 256 * 1024,
  /** Longest deadline a client may ask for, and the cap on calls that send none. */
  maxTimeoutMs: 60_000,
  /** A cleartext connection must say which protocol it speaks within this. */
  firstBytesTimeoutMs: 10_000,
  /** A TLS handshake must finish within this. */
  handshakeTimeoutMs: 10_000,
  /** HTTP/1.1: the request headers must arrive within this. */
  headersTimeoutMs: 10_000,
  /** HTTP/1.1: the whole request must arrive within this. */
  requestTimeoutMs: 60_000,
  /** HTTP/1.1: how often the two timeouts above are checked; Node's default is 30 s. */
  connectionsCheckingIntervalMs: 2_000,
  /** HTTP/1.1: an idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** HTTP/2: a stream with no traffic for this long is reset (health Watch excepted). */
  http2StreamIdleTimeoutMs: 60_000,
  /** HTTP/2 and HTTP/1.1 over TLS: a connection with no traffic for this long is closed. */
  connectionIdleTimeoutMs: 120_000,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 100,
  /** Megabytes of nghttp2 buffers one HTTP/2 session may hold. */
  http2MaxSessionMemoryMb: 10,
} as const;
