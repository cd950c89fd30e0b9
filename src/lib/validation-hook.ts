import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { clientNotFound, type FieldError, type ValidationCode, validationFailed } from "./problem";
import { problemResponse } from "./problem-response";

type HookResult = {
  success: boolean;
  error?: z.ZodError;
  data?: unknown;
  target: string;
};

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let current: unknown = data;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function codeFor(issue: z.core.$ZodIssue, raw: unknown): ValidationCode {
  if (issue.code === "custom") {
    const code = (issue.params as { code?: ValidationCode } | undefined)?.code;
    if (code) return code;
  }
  if (issue.code === "invalid_type") return raw === undefined || raw === null ? "EmptyFieldError" : "ErrorType";
  if (issue.code === "too_small" || issue.code === "too_big") return "ErrorName";
  return "ErrorPattern";
}

/**
 * The DocSpace TypeScript SDK types its list fields as `Set<string>`, which `JSON.stringify` turns
 * into `{}`; zod's "expected array, received object" would not tell the caller why.
 */
const SERIALISED_SET_MESSAGE = "expected an array (a JavaScript Set serialises to {} — pass an array)";

function isSerialisedSet(issue: z.core.$ZodIssue, raw: unknown): boolean {
  return (
    issue.code === "invalid_type" &&
    issue.expected === "array" &&
    raw !== null &&
    typeof raw === "object" &&
    Object.getPrototypeOf(raw) === Object.prototype &&
    Object.keys(raw).length === 0
  );
}

/** Converts zod issues to DocSpace-style `errors[]`, one entry per field and code. */
export function toFieldErrors(error: z.ZodError, input: unknown): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : "body";
    const raw = issue.path.length > 0 ? valueAt(input, issue.path) : input;
    const code = codeFor(issue, raw);
    const key = `${field}:${code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const message =
      issue.code === "custom"
        ? issue.message
        : code === "EmptyFieldError"
          ? `${field} is required`
          : `${field}: ${isSerialisedSet(issue, raw) ? SERIALISED_SET_MESSAGE : issue.message}`;
    errors.push({ field, code, message });
  }
  return errors;
}

/**
 * The one validation hook every router uses: a malformed path id is a 404 (SPEC §5: no
 * difference between "malformed" and "unknown"), anything else a 400 with `errors[]`.
 */
export function validationHook(result: HookResult, c: Context<AppEnv>): Response | undefined {
  if (result.success || !result.error) return undefined;
  if (result.target === "param") return problemResponse(c, clientNotFound().init);
  const detail =
    result.target === "query" ? "The query parameters failed validation." : "The request body failed validation.";
  return problemResponse(c, validationFailed(toFieldErrors(result.error, result.data), detail).init);
}
