import { GUID_PATTERN } from "../lib/ids";
import { signatureVerificationKey } from "./machine-key";
import { type Principal, roleFromFlags } from "./principal";
import type { SignaturePolicy } from "./signature-policy";

/** Tokens longer than this are rejected before any decoding (SPEC §3). */
export const MAX_SIGNATURE_LENGTH = 8 * 1024;
/** Allowed clock difference for `exp` (both as expiry and against the lifetime cap) and `nbf`. */
export const CLOCK_SKEW_SECONDS = 60;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Why a token was refused; logged. The caller learns only "invalid signature", except for
 * `expired`, which is reported only once the MAC has verified (see `requireSignature`).
 */
export type SignatureRejection =
  | "too_long"
  | "malformed"
  | "unsupported_alg"
  | "unsupported_header"
  | "bad_mac"
  | "expired"
  | "not_yet_valid"
  | "missing_exp"
  | "lifetime_too_long"
  | "invalid_claims";

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: SignatureRejection };

/**
 * Finds the caller's x-signature: the cookie named `x-signature` (name compared
 * case-insensitively) wins; the header is read only when no such cookie exists, so an
 * empty cookie is an (invalid) signature rather than a fall-through. `undefined` = none sent.
 */
export function extractSignature(headers: Headers): string | undefined {
  const cookieHeader = headers.get("cookie");
  if (cookieHeader) {
    for (const part of cookieHeader.split(";")) {
      const eq = part.indexOf("=");
      const name = (eq === -1 ? part : part.slice(0, eq)).trim();
      if (name.toLowerCase() === "x-signature") {
        return eq === -1 ? "" : part.slice(eq + 1).trim();
      }
    }
  }
  return headers.get("x-signature") ?? undefined;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Bits of the last character that carry no data, by segment length mod 4 (RFC 4648 §3.5). */
const UNUSED_LAST_BITS: Record<number, number> = { 2: 0b1111, 3: 0b11 };

function decodeBase64Url(segment: string): Uint8Array | undefined {
  const rest = segment.length % 4;
  if (!BASE64URL.test(segment) || rest === 1) return undefined;
  // Canonical encoding only: the last character's unused bits must be zero, or several different
  // MAC strings would verify as the same signature.
  const unused = UNUSED_LAST_BITS[rest] ?? 0;
  if ((BASE64URL_ALPHABET.indexOf(segment.charAt(segment.length - 1)) & unused) !== 0) return undefined;
  try {
    const binary = atob(segment.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - rest) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(segment);
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** DocSpace writes every claim as a string; other issuers use native JSON types. Accept both. */
function readFlag(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === false || value === 0) return false;
  if (value === true || value === 1) return true;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "" || v === "false" || v === "0") return false;
    if (v === "true" || v === "1") return true;
  }
  return undefined;
}

function readNumericDate(value: unknown): number | undefined | null {
  if (value === undefined) return null;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\d{1,15}(\.\d+)?$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function readText(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

function readTenantId(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d{1,15}$/.test(value.trim())
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/** Turns verified claims into a principal, or `undefined` when a required claim is missing or malformed. */
export function principalFromClaims(claims: Record<string, unknown>): Principal | undefined {
  const userId = readText(claims.user_id)?.trim();
  const userName = readText(claims.user_name);
  const userEmail = readText(claims.user_email);
  const tenantUrl = readText(claims.tenant_url);
  const tenantId = readTenantId(claims.tenant_id);
  const isAdmin = readFlag(claims.is_admin);
  const isGuest = readFlag(claims.is_guest);
  const isPublic = readFlag(claims.is_public);
  if (!userId || !GUID_PATTERN.test(userId) || !userName || !userEmail || !tenantUrl || tenantId === undefined)
    return undefined;
  if (isAdmin === undefined || isGuest === undefined || isPublic === undefined) return undefined;
  const principal: Principal = {
    userId: userId.toLowerCase(),
    userName,
    userEmail,
    tenantId,
    tenantUrl,
    role: roleFromFlags({ isAdmin, isGuest, isPublic }),
  };
  const iat = readNumericDate(claims.iat);
  if (typeof iat === "number") principal.issuedAt = iat * 1000;
  return principal;
}

/**
 * Verifies a DocSpace x-signature (HS256 JWS) with the key derived from the machine key.
 * Only `alg: HS256` is accepted; `kid`, `jku` and other header hints are ignored because
 * the key is fixed by configuration; any `crit` extension is refused. The MAC is checked in
 * constant time by WebCrypto. Time rules, all with `CLOCK_SKEW_SECONDS` of slack: not after
 * `exp`, not before `nbf`, `exp` at most `policy.maxTtlSeconds` ahead, and no `exp` at all only
 * when `policy.requireExp` is false. Every time rule is checked only after the MAC, so only
 * the issuer's own tokens can earn a time-related reason.
 */
export async function verifySignature(
  token: string,
  machineKey: string,
  nowMs: number,
  policy: SignaturePolicy,
): Promise<VerifyResult> {
  if (token.length > MAX_SIGNATURE_LENGTH) return { ok: false, reason: "too_long" };
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [headerSegment = "", payloadSegment = "", macSegment = ""] = parts;
  const header = decodeJsonSegment(headerSegment);
  if (!header) return { ok: false, reason: "malformed" };
  if (header.alg !== "HS256") return { ok: false, reason: "unsupported_alg" };
  // RFC 7515 §4.1.11: a token that marks header extensions as critical must be refused by a
  // verifier that does not implement them, and this one implements none.
  if (header.crit !== undefined) return { ok: false, reason: "unsupported_header" };
  const mac = decodeBase64Url(macSegment);
  if (mac?.length !== 32) return { ok: false, reason: "malformed" };

  const key = await signatureVerificationKey(machineKey);
  const signed = new TextEncoder().encode(`${headerSegment}.${payloadSegment}`);
  if (!(await crypto.subtle.verify("HMAC", key, mac, signed))) return { ok: false, reason: "bad_mac" };

  const claims = decodeJsonSegment(payloadSegment);
  if (!claims) return { ok: false, reason: "malformed" };
  const nowSeconds = nowMs / 1000;
  const exp = readNumericDate(claims.exp);
  const nbf = readNumericDate(claims.nbf);
  if (exp === undefined || nbf === undefined) return { ok: false, reason: "invalid_claims" };
  if (exp === null && policy.requireExp) return { ok: false, reason: "missing_exp" };
  if (exp !== null && nowSeconds > exp + CLOCK_SKEW_SECONDS) return { ok: false, reason: "expired" };
  if (nbf !== null && nowSeconds < nbf - CLOCK_SKEW_SECONDS) return { ok: false, reason: "not_yet_valid" };
  // DocSpace mints 5-minute tokens; the cap bounds how long a leaked token with a far `exp`
  // (say, year 9999) stays usable.
  if (exp !== null && exp - nowSeconds > policy.maxTtlSeconds + CLOCK_SKEW_SECONDS) {
    return { ok: false, reason: "lifetime_too_long" };
  }

  const principal = principalFromClaims(claims);
  return principal ? { ok: true, principal } : { ok: false, reason: "invalid_claims" };
}
