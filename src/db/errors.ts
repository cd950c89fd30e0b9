import { unavailable } from "../lib/problem";

/**
 * What the store's failures mean to the layers above. D1 reports constraint violations only as
 * message text (`D1_ERROR: UNIQUE constraint failed: …`, with Drizzle's wrapper keeping the driver
 * error as `cause`): there is no error code to test, so the text is read here and nowhere else.
 * Checked against workerd 1.20261102 / Miniflare 5.20261102 and drizzle-orm 0.45.4
 * (test/integration/secret-rotation.test.ts and storage-atomicity.test.ts fail if it changes).
 */

/**
 * Runs a D1 call and turns its failure into a 503: D1 being unreachable or refusing a batch is a
 * dependency failure, not a bug in the request. Batches are atomic, so nothing was applied.
 */
export async function guardD1<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw unavailable("The database is unavailable; nothing was changed.", error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
}

/** Whether a failed statement or batch hit a UNIQUE index (or primary key). */
export function isUniqueViolation(error: unknown): boolean {
  return /UNIQUE constraint failed/i.test(messageOf(error));
}

/** Whether a failed statement or batch referenced a row (a client) that no longer exists. */
export function isForeignKeyViolation(error: unknown): boolean {
  return /FOREIGN KEY constraint failed/i.test(messageOf(error));
}
