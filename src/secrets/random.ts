import { randomBytes } from "node:crypto";

/** RandomSource returns cryptographically strong random bytes; tests inject their own. */
export type RandomSource = (length: number) => Buffer;

/** cryptoRandom draws from Node's CSPRNG. */
export const cryptoRandom: RandomSource = (length) => randomBytes(length);
