// Signed DocSpace callers for the soak: the x-signature a DocSpace backend would mint.
import { signJws } from "../src/auth/sign-token.ts";

export type Caller = { userId: string; tenantId: number; role: "ADMIN" | "USER" };

/** How long the soak's signatures live; a caller re-signs well before (DocSpace mints 5-minute ones). */
const SIGNATURE_TTL_SECONDS = 600;

/**
 * An x-signature for `caller`. `tenantUrl` matters only on /oauth2/authorize, which accepts a
 * signature minted for the request's own origin (AS §2); the management API does not read it.
 */
export async function sign(
  key: Uint8Array<ArrayBuffer>,
  caller: Caller,
  tenantUrl = "http://127.0.0.1",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJws(
    {
      user_id: caller.userId,
      user_name: "Soak",
      user_email: "soak@example.com",
      tenant_id: String(caller.tenantId),
      tenant_url: tenantUrl,
      is_admin: String(caller.role === "ADMIN"),
      is_guest: "false",
      is_public: "true",
      iat: now,
      exp: now + SIGNATURE_TTL_SECONDS,
    },
    key,
  );
}

/** A signature that renews itself once it is four minutes old. */
export function renewingSignature(key: Uint8Array<ArrayBuffer>, caller: Caller, tenantUrl?: string) {
  let signature: string | undefined;
  let signedAt = 0;
  return async (): Promise<string> => {
    if (signature === undefined || Date.now() - signedAt > 240_000) {
      signature = await sign(key, caller, tenantUrl);
      signedAt = Date.now();
    }
    return signature;
  };
}
