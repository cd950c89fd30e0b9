import { type Column, getTableColumns, type InferSelectModel, type Table } from "drizzle-orm";

/**
 * Rows of `SELECT <every column of a table>` from D1's `raw()` (arrays in the table's column order,
 * the order Drizzle's `select()` lists them), decoded into the table's row type with each column's
 * own `mapFromDriverValue` — the exact conversion Drizzle applies (JSON columns parsed, booleans
 * from 0/1, NULL kept). What it leaves out is Drizzle's generic per-cell work (entity checks and
 * path walking for every column of every row), which profiles showed as the page of 30's largest
 * cost of our own (BENCHMARKS.md). For hot paths that return many full rows; elsewhere Drizzle maps.
 */
export function tableRowDecoder<T extends Table>(table: T): (row: unknown[]) => InferSelectModel<T> {
  const columns = Object.entries(getTableColumns(table)) as [string, Column][];
  return (row) => {
    const decoded: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const [key, column] = columns[i] as [string, Column];
      const value = row[i];
      decoded[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return decoded as InferSelectModel<T>;
  };
}
