import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { invalidRequest, OAuthError } from "../lib/oauth-error";

/** Largest form accepted at the authorization server's form endpoints; token requests are well under 4 KiB. */
export const MAX_FORM_BYTES = 16 * 1024;

const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

const tooLarge = () =>
  new OAuthError({
    status: 413,
    error: "invalid_request",
    description: `The request body exceeds ${MAX_FORM_BYTES} bytes.`,
  });

/**
 * Guards an OAuth endpoint that takes a form (RFC 6749 §3.2), before schema validation, with OAuth
 * errors throughout: `application/x-www-form-urlencoded` only (else 400 `invalid_request`), at most
 * `MAX_FORM_BYTES` (413, by Content-Length before reading and by size after), UTF-8, and no
 * parameter twice (400 naming it). The body is read with Hono's cached reader (`c.req.arrayBuffer()`),
 * so a middleware that read it before (the rate limiter) and the validator after both see it.
 */
export const oauthForm = createMiddleware<AppEnv>(async (c, next) => {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== FORM_MEDIA_TYPE) throw invalidRequest(`The request body must be ${FORM_MEDIA_TYPE}.`);
  const declared = Number(c.req.header("content-length"));
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) throw tooLarge();
  let body: ArrayBuffer;
  try {
    body = await c.req.arrayBuffer();
  } catch {
    throw invalidRequest("The request body could not be read.");
  }
  if (body.byteLength > MAX_FORM_BYTES) throw tooLarge();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw invalidRequest("The request body is not UTF-8.");
  }
  const seen = new Set<string>();
  for (const [name] of new URLSearchParams(text)) {
    if (seen.has(name)) throw invalidRequest(`${name.slice(0, 64)} must not be repeated.`);
    seen.add(name);
  }
  await next();
});
