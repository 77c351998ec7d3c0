/** ConfigError names the variable that stopped the service from starting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Env is the environment the configuration is read from. */
export type Env = Readonly<Record<string, string | undefined>>;

/** PREFIX starts the name of every variable the service reads. */
export const PREFIX = "PROVIDER_AUTH_";

/** readString returns a variable's trimmed value, or undefined when unset or empty. */
export function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/** readInteger parses a whole number within bounds, or returns the default. */
export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
): number {
  const text = readString(env, name);
  if (text === undefined) return fallback;

  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(text)}`);
  }
  if (value < bounds.min || value > bounds.max) {
    throw new ConfigError(`${name} must be between ${bounds.min} and ${bounds.max}, got ${value}`);
  }
  return value;
}

/** readList splits a comma-separated variable into trimmed, non-empty entries. */
export function readList(env: Env, name: string, fallback: readonly string[]): string[] {
  const text = readString(env, name);
  if (text === undefined) return [...fallback];

  const entries = text.split(",").map((e) => e.trim());
  if (entries.some((e) => e === "")) {
    throw new ConfigError(`${name} has an empty entry: separate names with single commas`);
  }
  return entries;
}

/** readChoice accepts one of a fixed set of words. */
export function readChoice<T extends string>(
  env: Env,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const text = readString(env, name);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new ConfigError(
      `${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(text)}`,
    );
  }
  return text as T;
}
