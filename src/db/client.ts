import { drizzle } from "drizzle-orm/d1";

/**
 * Drizzle handles by D1 binding. Building one is not free (session, dialect, logger), and a binding
 * object lives as long as its isolate, so each binding gets one handle, built on first use. The
 * handle holds no per-request state; tests that wrap a binding (test/helpers/faults.ts) get their own.
 */
const handles = new WeakMap<D1Database, ReturnType<typeof drizzle>>();

/** The Drizzle handle over a D1 binding. */
export function createDb(d1: D1Database) {
  let db = handles.get(d1);
  if (!db) {
    db = drizzle(d1);
    handles.set(d1, db);
  }
  return db;
}

export type Database = ReturnType<typeof createDb>;
