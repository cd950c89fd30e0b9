/**
 * The signing keys' configuration (AS §11), read from the Worker's env once per request or cron
 * run. A missing value, or anything but a positive whole number of seconds, uses its default; the encryption secret is
 * validated where it is used (key-crypto.ts), so that a bad one fails closed with a clear log line.
 */

/** `SIGNING_KEY_ROTATE_SECONDS` default: 4 h, DocSpace's rotation period. */
export const DEFAULT_ROTATE_SECONDS = 14_400;
/** `ACCESS_TOKEN_TTL_SECONDS` default (AS §5.1). */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3_600;
/**
 * The shortest rotation period honoured: a key must get to sign before the next one is added
 * (it waits 360 s after publication; the Cron Trigger runs every 30 minutes anyway).
 */
export const MIN_ROTATE_SECONDS = 600;

export type SigningKeySettings = {
  /** `SIGNING_KEY_ENCRYPTION_KEY` as configured: base64url of 32 bytes when valid. */
  encryptionSecret: string | undefined;
  /** Age of the newest key after which the next one is added. */
  rotateAfterMs: number;
  /** Lifetime of an access token: how long a retired key's last token stays verifiable. */
  accessTokenTtlMs: number;
};

/** A whole number of seconds written in decimal digits and above zero, else `fallback`. */
function positiveSeconds(value: string | undefined, fallback: number): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The settings from the Worker's vars and secret. */
export function signingKeySettings(
  env: Partial<Pick<Env, "SIGNING_KEY_ENCRYPTION_KEY" | "SIGNING_KEY_ROTATE_SECONDS" | "ACCESS_TOKEN_TTL_SECONDS">>,
): SigningKeySettings {
  const rotateSeconds = positiveSeconds(env.SIGNING_KEY_ROTATE_SECONDS, DEFAULT_ROTATE_SECONDS);
  return {
    encryptionSecret: env.SIGNING_KEY_ENCRYPTION_KEY,
    rotateAfterMs: Math.max(MIN_ROTATE_SECONDS, rotateSeconds) * 1000,
    accessTokenTtlMs: positiveSeconds(env.ACCESS_TOKEN_TTL_SECONDS, DEFAULT_ACCESS_TOKEN_TTL_SECONDS) * 1000,
  };
}
