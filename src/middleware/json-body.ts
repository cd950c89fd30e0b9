import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { badRequest, HttpProblem, PROBLEM_TYPES } from "../lib/problem";

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const WELL_FORMED_PARAMETERS = /^[^;]*(;\s*[a-zA-Z0-9-]+=[^;]+)*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether any string (key or value) in a parsed JSON value holds a lone surrogate. Iterative: bodies nest deeply. */
function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") {
      if (LONE_SURROGATE.test(item)) return true;
    } else if (Array.isArray(item)) {
      for (const inner of item) stack.push(inner);
    } else if (item !== null && typeof item === "object") {
      for (const [key, inner] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}

const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new HttpProblem({
      status: 413,
      type: PROBLEM_TYPES.payloadTooLarge,
      detail: `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
    });
  },
});

/**
 * Guards routes that take a JSON body, before schema validation: 415 for anything but JSON,
 * 413 over 1 MiB (by Content-Length, or counted while streaming without one), 400 for JSON that
 * does not parse.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const contentType = c.req.header("content-type") ?? "";
  const mediaType = contentType.split(";")[0]?.trim() ?? "";
  // The parameters must be well formed too: the router's own media-type gate
  // (@hono/zod-openapi) refuses `application/json;;;` with an HTTPException that would
  // otherwise surface as a generic 400 instead of this 415.
  if (!JSON_MEDIA_TYPE.test(mediaType) || !WELL_FORMED_PARAMETERS.test(contentType)) {
    throw new HttpProblem({
      status: 415,
      type: PROBLEM_TYPES.unsupportedMediaType,
      detail: "The request body must be application/json.",
      headers: { "accept-post": "application/json" },
    });
  }
  await limitBody(c, async () => {
    let text: string;
    try {
      text = await c.req.text();
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      throw badRequest("The request body could not be read.");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw badRequest("The request body is not valid JSON.");
    }
    // `"\uDFFF"` is valid JSON but not Unicode text: D1 would store U+FFFD instead, so the
    // stored value would differ from the one the request sent and the response echoed.
    if (/\\u[dD][89a-fA-F]/.test(text) && hasLoneSurrogate(parsed)) {
      throw badRequest("The request body contains a string that is not valid Unicode (a lone surrogate).");
    }
    // The validator parses the text again through `c.req.json()`: Hono (4.13) caches the body's
    // text, not its value. An earlier version of this middleware wrote the parsed value into
    // `c.req.bodyCache.json`, which this Hono no longer reads; a second parse costs less than
    // depending on a framework internal.
    await next();
  });
});
