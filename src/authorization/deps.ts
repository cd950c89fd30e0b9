import type { Database } from "../db/client";
import type { AuthorizationSettings } from "./settings";

/**
 * What the authorization store needs; `ServiceDeps` carries the same members, a cron or a test
 * builds them itself. `now` (milliseconds since the epoch) is the only clock the store reads.
 */
export type AuthorizationDeps = { db: Database; now: number; authorization: AuthorizationSettings };
