import { deriveSignatureKeyBytes } from "../../src/auth/machine-key";
import { signJws } from "../../src/auth/sign-token";

/** The machine key configured for tests in vitest.config.ts (the dev key of shared/vectors). */
export const TEST_MACHINE_KEY = "1123askdasjklasbnd";

export type Caller = {
  userId: string;
  tenantId: number;
  role: "ADMIN" | "USER" | "GUEST";
};

let testKey: Uint8Array<ArrayBuffer> | undefined;

/** DocSpace mints every x-signature for 5 minutes. */
export const DOCSPACE_SIGNATURE_TTL_SECONDS = 300;

/**
 * The `exp` DocSpace would write for a token minted at `nowMs`. Tests whose app runs on an injected
 * clock must sign at that clock: a token whose `exp` follows the real clock is days ahead of (or behind)
 * a fixed test clock, and the gateway refuses a lifetime over MAX_SIGNATURE_TTL_SECONDS.
 */
export function docspaceExp(nowMs: number): number {
  return Math.floor(nowMs / 1000) + DOCSPACE_SIGNATURE_TTL_SECONDS;
}

/** Claims as a DocSpace backend writes them, valid for 5 minutes from the real clock: every value a string. */
export function docspaceClaims(caller: Caller, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: caller.userId,
    user_id: caller.userId,
    user_name: "Test User",
    user_email: "user@example.com",
    tenant_id: String(caller.tenantId),
    tenant_url: "http://localhost:8092",
    is_admin: String(caller.role === "ADMIN"),
    is_guest: String(caller.role === "GUEST"),
    is_public: String(caller.role !== "GUEST"),
    exp: docspaceExp(Date.now()),
    ...overrides,
  };
}

/** Signs arbitrary claims with the test machine key (or another key, for forgery tests). */
export function signClaims(
  claims: Record<string, unknown>,
  options: { machineKey?: string; header?: Record<string, unknown> } = {},
): Promise<string> {
  testKey ??= deriveSignatureKeyBytes(TEST_MACHINE_KEY);
  const key = options.machineKey === undefined ? testKey : deriveSignatureKeyBytes(options.machineKey);
  return signJws(claims, key, options.header);
}

/** A valid x-signature for the caller. */
export function signFor(caller: Caller, overrides: Record<string, unknown> = {}): Promise<string> {
  return signClaims(docspaceClaims(caller, overrides));
}

/** A fresh caller with its own user id (tests isolate by data). */
export function newCaller(role: Caller["role"], tenantId = uniqueTenant()): Caller {
  return { userId: crypto.randomUUID(), tenantId, role };
}

let tenantCounter = Math.floor(Math.random() * 1_000_000) + 1000;
/** A tenant id no other test in this file uses. */
export function uniqueTenant(): number {
  tenantCounter += 1;
  return tenantCounter;
}
