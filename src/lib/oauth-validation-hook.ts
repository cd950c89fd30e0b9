import type { z } from "@hono/zod-openapi";
import { invalidRequest } from "./oauth-error";

type HookResult = { success: boolean; error?: z.ZodError; target: string };

/**
 * The validation hook of the authorization server's form endpoints: a parameter missing or not a
 * string is 400 `invalid_request` naming it (RFC 6749 §5.2), thrown for `app.onError` to render —
 * never problem+json.
 */
export function oauthValidationHook(result: HookResult): undefined {
  if (result.success || !result.error) return undefined;
  const issue = result.error.issues[0];
  const name = issue && issue.path.length > 0 ? String(issue.path[0]) : "the request";
  const missing = issue?.code === "invalid_type" && /received undefined/.test(issue.message);
  throw invalidRequest(missing ? `${name} is required.` : `${name} is malformed.`);
}
