/** LogFields are the structured fields of one line; keys are stable snake_case. */
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Logger writes one JSON object a line. It is handed no token, secret or key material. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** jsonLineLogger writes to a sink (stdout by default), dropping lines below `minLevel`. */
export function jsonLineLogger(
  minLevel: LogLevel = "info",
  sink: (line: string) => void = (line) => process.stdout.write(line),
  now: () => number = Date.now,
): Logger {
  return {
    log(level, event, fields = {}) {
      if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
      const line = { time: new Date(now()).toISOString(), level, event, ...fields };
      sink(JSON.stringify(line) + "\n");
    },
  };
}

/** LOG_LEVELS lists the accepted levels, for configuration checks. */
export const LOG_LEVELS = Object.keys(LEVEL_ORDER) as LogLevel[];
