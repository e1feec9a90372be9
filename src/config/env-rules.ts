import { StagetraceError } from "../errors.js";

/**
 * The environment configuration is read from: `process.env` by default, or
 * any record of the same shape (a test's, or the one the CLI was given).
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** Says a configuration problem (once: callers pass a warn-once function). */
export type Warn = (message: string) => void;

/** What a parser says of a value it refuses: what the value should have been (`a number > 0`). */
export interface Refused {
  refused: string;
}

/** A refusal, for parsers: `refuse("a number > 0")`. */
export function refuse(expected: string): Refused {
  return { refused: expected };
}

function isRefused(x: unknown): x is Refused {
  return typeof x === "object" && x !== null && typeof (x as Refused).refused === "string";
}

/** The variable's value as set, or undefined when it is unset or blank. */
export function envValue(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw !== undefined && raw.trim() !== "" ? raw : undefined;
}

/**
 * The one rule for an environment value: unset or blank gives `fallback`;
 * a value `parse` refuses warns, naming the variable and the value and
 * what it should be, and gives `fallback`. It never throws.
 */
export function fromEnv<T, F>(
  env: Env,
  name: string,
  fallback: F,
  parse: (raw: string) => T | Refused,
  warn: Warn,
  fallbackText: string = fallback === null ? "none" : String(fallback),
): T | F {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  const value = parse(raw.trim());
  if (!isRefused(value)) return value;
  warn(`${name}=${JSON.stringify(raw.trim())} is not ${value.refused}; using ${fallbackText}`);
  return fallback;
}

/**
 * The one rule for an option given in code: a value `parse` refuses throws
 * a StagetraceError (`INVALID_OPTION`) that names the option and the value.
 */
export function fromOption<T, V>(value: V | undefined, option: string, parse: (value: V) => T | Refused): T | undefined {
  if (value === undefined) return undefined;
  const parsed = parse(value);
  if (!isRefused(parsed)) return parsed;
  const given = typeof value === "string" ? JSON.stringify(value) : String(value);
  throw new StagetraceError("INVALID_OPTION", `${option} must be ${parsed.refused}, got ${given}`);
}

/** A number at least `min` (above it when `above`), as `parse` for `fromEnv` and `fromOption`. */
export function numberAtLeast(min: number, options: { above?: boolean; unit?: string } = {}): (raw: string | number) => number | Refused {
  const what = `a number${options.unit ? ` of ${options.unit}` : ""} ${options.above ? ">" : ">="} ${min}`;
  return (raw) => {
    const n = typeof raw === "number" ? raw : Number(raw);
    return Number.isFinite(n) && (options.above ? n > min : n >= min) ? n : refuse(what);
  };
}

/**
 * A number from `env[name]`: `fallback` when unset; a value that is not a
 * finite number at least `min` (above `min` when `above` is set) warns,
 * naming the variable, and falls back.
 */
export function numberFromEnv<F extends number | null>(
  env: Env,
  name: string,
  fallback: F,
  bound: { min: number; above?: boolean; unit: string },
  warn: Warn,
): number | F {
  return fromEnv(env, name, fallback, numberAtLeast(bound.min, bound), warn);
}

/** A yes/no value: `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`. */
export function yesNo(raw: string): boolean | Refused {
  const v = raw.toLowerCase();
  if (["1", "true", "on", "yes"].includes(v)) return true;
  if (["0", "false", "off", "no"].includes(v)) return false;
  return refuse("1 or 0");
}

/** A yes/no environment value; a bad one warns and falls back. */
export function envFlag(env: Env, name: string, fallback: boolean, warn: Warn): boolean {
  return fromEnv(env, name, fallback, yesNo, warn, fallback ? "1" : "0");
}

/** One of `choices` (compared in lower case). */
export function oneOf<C extends string>(choices: readonly C[], expected = `one of ${choices.join(", ")}`): (raw: string) => C | Refused {
  return (raw) => {
    const v = raw.toLowerCase();
    return (choices as readonly string[]).includes(v) ? (v as C) : refuse(expected);
  };
}
