/**
 * Just enough DER for RSA keys in the two shapes this service makes: PKCS#8
 * private keys (read) and X.509 SubjectPublicKeyInfo public keys (written).
 * OpenSSL 3's generic decoder spends about as long parsing a PKCS#8 key as
 * RSA-2048 spends on a signature; importing the same numbers as a JWK takes
 * a few microseconds, which matters whenever a key drops out of the cache.
 */

/** RsaPrivateJwk is an RSA private key as RFC 7518 JWK members (base64url, unsigned). */
export interface RsaPrivateJwk {
  kty: "RSA";
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const OBJECT_IDENTIFIER = 0x06;
const NULL = 0x05;

// 1.2.840.113549.1.1.1, rsaEncryption, with its DER tag and length.
const RSA_ENCRYPTION_OID = Buffer.from("06092a864886f70d010101", "hex");

interface Element {
  tag: number;
  /** The element's content, without tag and length. */
  content: Buffer;
  /** Where the next element starts, in the buffer that was read. */
  next: number;
}

/** rsaJwkFromPkcs8 reads an RSA PKCS#8 PrivateKeyInfo into JWK members, or throws. */
export function rsaJwkFromPkcs8(der: Buffer): RsaPrivateJwk {
  const info = children(expect(read(der, 0), SEQUENCE, "PrivateKeyInfo"));
  if (info.length < 3) throw new Error("PrivateKeyInfo is too short");

  const version = expect(info[0]!, INTEGER, "PrivateKeyInfo version");
  if (!isZero(version)) throw new Error("PrivateKeyInfo version is not 0");

  const algorithm = children(expect(info[1]!, SEQUENCE, "AlgorithmIdentifier"));
  const oid = algorithm[0];
  if (
    oid === undefined ||
    oid.tag !== OBJECT_IDENTIFIER ||
    !encodedOid(oid).equals(RSA_ENCRYPTION_OID)
  ) {
    throw new Error("the key is not an rsaEncryption key");
  }

  const rsaKey = expect(info[2]!, OCTET_STRING, "privateKey").content;
  const fields = children(expect(read(rsaKey, 0), SEQUENCE, "RSAPrivateKey"));
  if (fields.length !== 9) throw new Error("only two-prime RSA private keys are supported");
  const [v, n, e, d, p, q, dp, dq, qi] = fields.map((f, i) =>
    expect(f, INTEGER, `RSAPrivateKey field ${i}`),
  );
  if (!isZero(v!)) throw new Error("RSAPrivateKey version is not 0");

  const b64 = (element: Element) => unsigned(element.content).toString("base64url");
  return {
    kty: "RSA",
    n: b64(n!),
    e: b64(e!),
    d: b64(d!),
    p: b64(p!),
    q: b64(q!),
    dp: b64(dp!),
    dq: b64(dq!),
    qi: b64(qi!),
  };
}

/**
 * rsaSpkiFromJwk encodes the public half of an RSA JWK as SubjectPublicKeyInfo
 * DER, byte for byte what OpenSSL exports for the same key (DER has exactly
 * one encoding for each value).
 */
export function rsaSpkiFromJwk(jwk: { n: string; e: string }): Buffer {
  const rsaPublicKey = tlv(
    SEQUENCE,
    Buffer.concat([
      integer(Buffer.from(jwk.n, "base64url")),
      integer(Buffer.from(jwk.e, "base64url")),
    ]),
  );
  const algorithm = tlv(SEQUENCE, Buffer.concat([RSA_ENCRYPTION_OID, Buffer.from([NULL, 0])]));
  const bits = tlv(BIT_STRING, Buffer.concat([Buffer.from([0]), rsaPublicKey]));
  return tlv(SEQUENCE, Buffer.concat([algorithm, bits]));
}

function read(buffer: Buffer, offset: number): Element {
  if (offset + 2 > buffer.length) throw new Error("truncated DER");
  const tag = buffer[offset]!;
  let length = buffer[offset + 1]!;
  let start = offset + 2;

  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3) throw new Error("unsupported DER length");
    if (start + octets > buffer.length) throw new Error("truncated DER");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buffer[start + i]!;
    start += octets;
  }
  const end = start + length;
  if (end > buffer.length) throw new Error("truncated DER");
  return { tag, content: buffer.subarray(start, end), next: end };
}

function children(element: Element): Element[] {
  const found: Element[] = [];
  for (let offset = 0; offset < element.content.length;) {
    const child = read(element.content, offset);
    found.push(child);
    offset = child.next;
  }
  return found;
}

function expect(element: Element, tag: number, what: string): Element {
  if (element.tag !== tag) throw new Error(`${what} has the wrong DER type`);
  return element;
}

function encodedOid(element: Element): Buffer {
  return Buffer.concat([Buffer.from([OBJECT_IDENTIFIER, element.content.length]), element.content]);
}

function isZero(element: Element): boolean {
  return element.content.length === 1 && element.content[0] === 0;
}

// A DER INTEGER is two's complement; key numbers are positive, so a leading
// zero octet only keeps the sign bit clear and is not part of the value.
function unsigned(content: Buffer): Buffer {
  let start = 0;
  while (start < content.length - 1 && content[start] === 0) start++;
  return content.subarray(start);
}

function integer(value: Buffer): Buffer {
  const minimal = unsigned(value);
  const body = minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal;
  return tlv(INTEGER, body);
}

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else if (length < 0x10000) header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  else throw new Error("DER element too long");
  return Buffer.concat([header, content]);
}
