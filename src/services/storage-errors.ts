import { unavailable } from "../lib/problem";

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
