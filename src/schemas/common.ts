import { z } from "@hono/zod-openapi";

/** An ISO-8601 UTC timestamp with milliseconds and `Z`, as every date on the wire (SPEC §4.16). */
export const isoDate = z.string().openapi({ example: "2026-11-28T12:00:00.000Z", format: "date-time" });

/** Renders stored epoch milliseconds in the wire format of `isoDate`. */
export const toIsoDate = (ms: number): string => new Date(ms).toISOString();
