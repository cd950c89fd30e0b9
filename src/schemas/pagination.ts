import { z } from "@hono/zod-openapi";
import { GUID_PATTERN } from "../lib/ids";
import { addRuleIssue } from "./validation";

/**
 * Query parameters of the keyset-paged lists (SPEC §4.8, §4.10, §4.12). Every bad value is a 400
 * with `errors[]` (DocSpace answers 500 here; SPEC §12.2). Cursor times are parsed to integer
 * milliseconds, the unit D1 stores, so the keyset comparison is exact.
 */

export const MIN_PAGE_LIMIT = 1;
export const MAX_PAGE_LIMIT = 50;
/** getClients alone has a default (SPEC §4.8); getClientsInfo and getConsents require `limit`. */
export const DEFAULT_CLIENT_PAGE_LIMIT = 30;

const DECIMAL = /^[0-9]+$/;
/**
 * ISO-8601 date-time with an explicit zone. At most millisecond precision: the store keeps whole
 * milliseconds, and a finer cursor cannot be placed exactly between two of them.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,3})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

const limitField = z
  .string()
  .superRefine((value, ctx) => {
    if (value === "") addRuleIssue(ctx, "EmptyFieldError", "limit is required");
    else if (!DECIMAL.test(value))
      addRuleIssue(ctx, "ErrorPattern", `limit must be an integer from ${MIN_PAGE_LIMIT} to ${MAX_PAGE_LIMIT}`);
    else if (Number(value) < MIN_PAGE_LIMIT || Number(value) > MAX_PAGE_LIMIT)
      addRuleIssue(ctx, "ErrorName", `limit must be from ${MIN_PAGE_LIMIT} to ${MAX_PAGE_LIMIT}`);
  })
  .transform(Number);

/** Milliseconds since the epoch for a valid ISO-8601 date-time, or `undefined` (e.g. 2026-02-30). */
export function parseIsoDateTime(value: string): number | undefined {
  const match = ISO_DATE_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day] = match;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  // Date.parse rolls impossible days over (Feb 30 → Mar 2) in some engines; refuse them instead.
  const calendarDay = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).toISOString().slice(0, 10);
  return calendarDay === `${year}-${month}-${day}` ? ms : undefined;
}

const cursorTimeField = (field: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      if (parseIsoDateTime(value) === undefined)
        addRuleIssue(ctx, "ErrorPattern", `${field} must be an ISO-8601 date-time such as 2026-11-28T12:00:00.000Z`);
    })
    .transform((value) => parseIsoDateTime(value) as number)
    .optional()
    .openapi({ example: "2026-11-28T12:00:00.000Z", format: "date-time" });

const cursorClientIdField = z
  .string()
  .superRefine((value, ctx) => {
    if (!GUID_PATTERN.test(value))
      addRuleIssue(ctx, "ErrorPattern", "last_client_id must be a client id (GUID_PATTERN)");
  })
  .transform((value) => value.toLowerCase())
  .optional()
  .openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" });

const limitDoc = (required: boolean) => ({
  param: { name: "limit", in: "query" as const, required },
  example: "30",
  description: `Page size, ${MIN_PAGE_LIMIT}–${MAX_PAGE_LIMIT}${required ? "" : ` (default ${DEFAULT_CLIENT_PAGE_LIMIT})`}.`,
});

/** A tie-breaking id alone cannot place a cursor: it needs the time it breaks the tie of. */
const requireTimeWithId =
  (timeField: string) =>
  (query: { last_client_id?: string | undefined } & Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    if (query.last_client_id !== undefined && query[timeField] === undefined)
      addRuleIssue(ctx, "EmptyFieldError", `${timeField} is required with last_client_id`, [timeField]);
  };

/** getClients: `limit` defaults to 30. */
export const ClientPageQuerySchema = z
  .object({
    limit: limitField.default(DEFAULT_CLIENT_PAGE_LIMIT).openapi(limitDoc(false)),
    last_client_id: cursorClientIdField,
    last_created_on: cursorTimeField("last_created_on"),
  })
  .superRefine(requireTimeWithId("last_created_on"));

/** getClientsInfo: as getClients, but `limit` is required. */
export const ClientInfoPageQuerySchema = z
  .object({
    limit: limitField.openapi(limitDoc(true)),
    last_client_id: cursorClientIdField,
    last_created_on: cursorTimeField("last_created_on"),
  })
  .superRefine(requireTimeWithId("last_created_on"));

/**
 * getConsents: pages on modification time. `last_client_id` is our tie-breaker; DocSpace's own
 * clients omit it and then continue strictly before `last_modified_on`.
 */
export const ConsentPageQuerySchema = z
  .object({
    limit: limitField.openapi(limitDoc(true)),
    last_modified_on: cursorTimeField("last_modified_on"),
    last_client_id: cursorClientIdField,
  })
  .superRefine(requireTimeWithId("last_modified_on"));

/** Where the next page starts: strictly after this (time, id) in newest-first order. */
/** A keyset page of rows as the services return it: the items, and the last one when another page follows. */
export type RowPage<T> = { items: T[]; last: T | undefined; limit: number };

export type KeysetCursor = { time: number; clientId?: string | undefined };

/** The cursor a validated query carries, if any. */
export function cursorFrom(time: number | undefined, clientId: string | undefined): KeysetCursor | undefined {
  return time === undefined ? undefined : { time, clientId };
}
