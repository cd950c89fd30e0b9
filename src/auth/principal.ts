/** Roles of SPEC §3.1. */
export type Role = "ADMIN" | "USER" | "GUEST";

/** The verified caller of a signed request. */
export type Principal = {
  userId: string;
  userName: string;
  userEmail: string;
  tenantId: number;
  tenantUrl: string;
  role: Role;
  /** When the signature was minted (`iat`, milliseconds since the epoch), when it says: an ID token's `auth_time`. */
  issuedAt?: number;
};

/** `is_admin` → ADMIN; else `is_guest` → GUEST; else `is_public` → USER; else GUEST (SPEC §3.1). */
export function roleFromFlags(flags: { isAdmin: boolean; isGuest: boolean; isPublic: boolean }): Role {
  if (flags.isAdmin) return "ADMIN";
  if (flags.isGuest) return "GUEST";
  if (flags.isPublic) return "USER";
  return "GUEST";
}

/**
 * Whether the caller may see and manage a client: ADMIN any client of its tenant, USER only the
 * clients it created in its tenant, GUEST none (SPEC §4).
 */
export function canManageClient(principal: Principal, client: { tenant: number; createdBy: string }): boolean {
  if (client.tenant !== principal.tenantId) return false;
  if (principal.role === "ADMIN") return true;
  if (principal.role === "USER") return client.createdBy === principal.userId;
  return false;
}
