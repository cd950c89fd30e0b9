import type { z } from "@hono/zod-openapi";
import type { ValidationCode } from "../lib/problem";

/**
 * Field rules of SPEC §6, shared by create and update. Each failing rule reports a custom zod
 * issue whose `params.code` is the DocSpace validation code; lib/validation-hook.ts turns
 * issues into `errors[]`. URL rules live in url-rules.ts, name and description rules in text-rules.ts.
 */

export const MAX_LIST_ITEMS = 12;
export const MAX_LOGO_BYTES = 256_000;

type RefinementCtx = z.core.$RefinementCtx;

/** Adds a custom issue carrying a DocSpace code. */
export function addRuleIssue(
  ctx: RefinementCtx,
  code: ValidationCode,
  message: string,
  path: PropertyKey[] = [],
): void {
  ctx.addIssue({ code: "custom", message, params: { code }, path });
}

const LOGO = /^data:image\/(png|jpeg|jpg|svg\+xml);base64,([A-Za-z0-9+/]*={0,2})$/;

/** Checks a logo data URL: format (`ErrorPattern`) and decoded size (`ErrorName`). */
export function logoProblem(value: string): { code: ValidationCode; message: string } | undefined {
  const match = LOGO.exec(value);
  const data = match?.[2];
  if (!data || data.length % 4 !== 0) {
    return { code: "ErrorPattern", message: "must be data:image/(png|jpeg|jpg|svg+xml);base64,<data>" };
  }
  const decodedBytes = (data.length / 4) * 3 - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0);
  if (decodedBytes > MAX_LOGO_BYTES)
    return { code: "ErrorName", message: `must decode to at most ${MAX_LOGO_BYTES} bytes` };
  try {
    atob(data);
  } catch {
    return { code: "ErrorPattern", message: "the base64 data does not decode" };
  }
  return undefined;
}

/** Array fields are sets (SPEC §5): duplicates collapse, first occurrence wins. */
export function uniqueInOrder(values: string[]): string[] {
  return [...new Set(values)];
}
