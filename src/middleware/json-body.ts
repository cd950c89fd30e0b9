import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { badRequest, HttpProblem, PROBLEM_TYPES } from "../lib/problem";

export const MAX_BODY_BYTES = 1024 * 1024;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

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
 * does not parse. The parsed body is cached for the validator.
 */
export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
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
    try {
      JSON.parse(text);
    } catch {
      throw badRequest("The request body is not valid JSON.");
    }
    await next();
  });
});
