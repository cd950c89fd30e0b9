/**
 * The authorization store's lifetimes (AS §11), read from the Worker's vars once per request or
 * cron run. A missing value, or anything but a positive whole number of seconds, uses its default,
 * as src/keys/settings.ts does: a typo in a var must not make codes or tokens immortal or dead.
 */

/** `CODE_TTL_SECONDS` default (AS §4 step 9). */
export const DEFAULT_CODE_TTL_SECONDS = 60;
/** `REFRESH_TOKEN_TTL_SECONDS` default: 30 days, DocSpace's value (AS §5.2). */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 2_592_000;
/** A pending authorization request lives at most this long (AS §4 step 7); not configurable. */
export const PENDING_REQUEST_TTL_MS = 600_000;

export type AuthorizationSettings = {
  /** How long an issued code may be redeemed. */
  codeTtlMs: number;
  /** How long a refresh family (and so every token in it) lives from the code's redemption. */
  refreshTokenTtlMs: number;
};

/** A whole number of seconds written in decimal digits and above zero, else `fallback`. */
function positiveSeconds(value: string | undefined, fallback: number): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The settings from the Worker's vars. */
export function authorizationSettings(
  env: Partial<Pick<Env, "CODE_TTL_SECONDS" | "REFRESH_TOKEN_TTL_SECONDS">>,
): AuthorizationSettings {
  return {
    codeTtlMs: positiveSeconds(env.CODE_TTL_SECONDS, DEFAULT_CODE_TTL_SECONDS) * 1000,
    refreshTokenTtlMs: positiveSeconds(env.REFRESH_TOKEN_TTL_SECONDS, DEFAULT_REFRESH_TOKEN_TTL_SECONDS) * 1000,
  };
}
