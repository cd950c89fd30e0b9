/**
 * The signing keys' configuration (AS §11), read from the Worker's env once per request or cron
 * run. A missing value, or anything but a positive whole number of seconds (or, for `ACCESS_TOKEN_ALG`, one
 * of `ACCESS_TOKEN_ALGS`), uses its default; the encryption secret is
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

/** An algorithm of the signing keys (db/schema's `SigningAlg`, spelled here: this file reads only `Env`). */
export type AccessTokenAlg = "ES256" | "RS256";
/** Algorithms an access token may be signed with (`ACCESS_TOKEN_ALG`, AS §5.1). */
export const ACCESS_TOKEN_ALGS: readonly AccessTokenAlg[] = ["ES256", "RS256"];
/** `ACCESS_TOKEN_ALG` default (AS §5.1): ES256, the smaller and faster signature. */
export const DEFAULT_ACCESS_TOKEN_ALG: AccessTokenAlg = "ES256";

export type SigningKeySettings = {
  /** `SIGNING_KEY_ENCRYPTION_KEY` as configured: base64url of 32 bytes when valid. */
  encryptionSecret: string | undefined;
  /** Age of the newest key after which the next one is added. */
  rotateAfterMs: number;
  /** Lifetime of an access token: how long a retired key's last token stays verifiable. */
  accessTokenTtlMs: number;
  /** The algorithm (and so the key) that signs access tokens; ID tokens are always RS256. */
  accessTokenAlg: AccessTokenAlg;
};

/** A whole number of seconds written in decimal digits and above zero, else `fallback`. */
function positiveSeconds(value: string | undefined, fallback: number): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** One of `ACCESS_TOKEN_ALGS`, in exactly that case (surrounding spaces aside), else the default: a typo never stops signing. */
function accessTokenAlgOf(value: string | undefined): AccessTokenAlg {
  return ACCESS_TOKEN_ALGS.find((alg) => alg === value?.trim()) ?? DEFAULT_ACCESS_TOKEN_ALG;
}

/** The settings from the Worker's vars and secret. */
export function signingKeySettings(
  env: Partial<
    Pick<
      Env,
      "SIGNING_KEY_ENCRYPTION_KEY" | "SIGNING_KEY_ROTATE_SECONDS" | "ACCESS_TOKEN_TTL_SECONDS" | "ACCESS_TOKEN_ALG"
    >
  >,
): SigningKeySettings {
  const rotateSeconds = positiveSeconds(env.SIGNING_KEY_ROTATE_SECONDS, DEFAULT_ROTATE_SECONDS);
  return {
    encryptionSecret: env.SIGNING_KEY_ENCRYPTION_KEY,
    rotateAfterMs: Math.max(MIN_ROTATE_SECONDS, rotateSeconds) * 1000,
    accessTokenTtlMs: positiveSeconds(env.ACCESS_TOKEN_TTL_SECONDS, DEFAULT_ACCESS_TOKEN_TTL_SECONDS) * 1000,
    accessTokenAlg: accessTokenAlgOf(env.ACCESS_TOKEN_ALG),
  };
}
