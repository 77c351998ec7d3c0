import { fromJson, toBinary, type DescMethod, type JsonValue } from "@bufbuild/protobuf";

/** Random is a small seeded xorshift generator: one seed, one sequence of requests. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x / 2 ** 32;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

const KEYS: readonly string[] = [
  ...["items", "id", "claimToken", "refreshToken", "providerId", "type", "responses"],
  ...["$ne", "$gt", "$where", "__proto__", "constructor", "", "ïd", "claim_token", "items "],
];

const STRINGS: readonly string[] = [
  ...["", "hippo", "bulk", "A".repeat(43), "\u0000", "\ud800", "../../etc", "a".repeat(5000)],
  ...["Hippo", "null", "{}", "\u202e", "😀".repeat(20), "%00", "' OR 1=1 --"],
];

const NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 53 + 2, 1e308, -1e308];

// Defined rather than assigned, so that "__proto__" becomes a key of its own.
function put(object: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** randomJson is an arbitrary JSON value of bounded depth, biased toward tricky leaves. */
export function randomJson(r: Random, depth = 3): JsonValue {
  const kind = r.int(depth <= 0 ? 5 : 8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(NUMBERS);
    case 3:
      return r.pick(STRINGS);
    case 4:
      return r.bytes(r.int(20)).toString("latin1");
    case 5:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1));
    case 6: {
      const object: Record<string, JsonValue> = {};
      for (let i = r.int(4); i > 0; i -= 1) put(object, r.pick(KEYS), randomJson(r, depth - 1));
      return object;
    }
    default:
      return { [r.pick(["$ne", "$gt", "$in", "$regex"])]: randomJson(r, depth - 1) };
  }
}

/** randomBulk is a request with the right framing and random items, fields and values. */
export function randomBulk(r: Random, field: string): JsonValue {
  const items = Array.from({ length: r.int(4) }, () => {
    const item: Record<string, JsonValue> = {};
    put(
      item,
      r.chance(0.8) ? field : r.pick(KEYS),
      r.chance(0.6) ? r.pick(STRINGS) : randomJson(r),
    );
    return r.chance(0.9) ? item : randomJson(r, 1);
  });
  const bulk: Record<string, JsonValue> = { items };
  if (r.chance(0.2)) bulk.type = r.chance(0.5) ? "bulk" : randomJson(r, 1);
  return bulk;
}

const JSON_NOISE = ["{", "}", "[", "]", '"', ":", ",", "\\", "\u0000", "e9999", "-", " ", "null"];

/** mutateText applies one to three byte-level edits to a JSON text. */
export function mutateText(r: Random, text: string): string {
  let out = text;
  for (let edits = 1 + r.int(3); edits > 0; edits -= 1) {
    const at = r.int(out.length + 1);
    const op = r.int(4);
    if (op === 0) out = out.slice(0, at) + out.slice(at + 1);
    else if (op === 1) out = out.slice(0, at) + r.pick(JSON_NOISE) + out.slice(at);
    else if (op === 2) out = out.slice(0, at);
    else out = out.slice(0, at) + out.slice(at / 2, at) + out.slice(at);
  }
  return out;
}

/** deepJson is an array nested `depth` times, to probe recursion limits. */
export function deepJson(depth: number): string {
  return `{"items":${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

/** seedBinary is the protobuf encoding of a JSON request for one method. */
export function seedBinary(method: DescMethod, json: JsonValue): Buffer {
  return Buffer.from(toBinary(method.input, fromJson(method.input, json)));
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/**
 * craftedBinary builds protobuf that is wrong in the ways decoders trip on:
 * wrong wire types, lengths past the end, groups, tag 0, invalid UTF-8 in a
 * string field, deep nesting, and huge field numbers.
 */
export function craftedBinary(r: Random): Buffer {
  const choice = r.int(8);
  switch (choice) {
    case 0: // field 1 as a varint, fixed64, fixed32 or a group start
      return Buffer.concat([Buffer.from([0x08 | r.pick([0, 1, 3, 5])]), r.bytes(r.int(9))]);
    case 1: // a length far past the end
      return Buffer.concat([Buffer.from([0x0a]), varint(0xfffffff0), r.bytes(8)]);
    case 2: // an item whose string field holds invalid UTF-8
      return Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe]);
    case 3: // tag 0
      return Buffer.from([0x00, 0x01]);
    case 4: {
      // items nested within items, deeper than any message goes
      let inner = Buffer.from([0x0a, 0x00]);
      for (let i = 0; i < 200; i += 1)
        inner = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
      return inner;
    }
    case 5: // a group that never ends
      return Buffer.from([0x0b, 0x0b, 0x0b, 0x0b]);
    case 6: // the highest field number, as a length-delimited field
      return Buffer.concat([varint(((2 ** 29 - 1) * 8 + 2) >>> 0), varint(3), Buffer.from("abc")]);
    default: // a truncated varint
      return Buffer.from([0x08, 0xff, 0xff, 0xff]);
  }
}

/** mutateBytes flips, drops, truncates or appends bytes of a valid encoding. */
export function mutateBytes(r: Random, bytes: Buffer): Buffer {
  let out = Buffer.from(bytes);
  for (let edits = 1 + r.int(3); edits > 0; edits -= 1) {
    const at = r.int(out.length + 1);
    const op = r.int(4);
    if (op === 0 && out.length > 0) out[Math.min(at, out.length - 1)] = r.int(256);
    else if (op === 1) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else if (op === 2) out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(6)), out.subarray(at)]);
  }
  return out;
}
