/** Clock tells the time in milliseconds since the epoch; tests step it. */
export interface Clock {
  now(): number;
}

/** systemClock is the wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
