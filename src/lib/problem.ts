import { API_BASE } from "./paths";

/** One DocSpace validation code per failing rule (SPEC §5). */
export type ValidationCode =
  | "EmptyFieldError"
  | "ErrorName"
  | "ErrorWrongURL"
  | "ErrorPattern"
  | "ErrorInvalidScope"
  | "ErrorType";

export type FieldError = { field: string; code: ValidationCode; message: string };

const PROBLEMS = `${API_BASE}/docs/problems` as const;

/** Problem types; relative URI references resolve against the gateway's own docs (RFC 9457 §3.1.1). */
export const PROBLEM_TYPES = {
  badRequest: `${PROBLEMS}#bad-request`,
  validation: `${PROBLEMS}#validation-failed`,
  invalidSignature: `${PROBLEMS}#invalid-signature`,
  forbidden: `${PROBLEMS}#forbidden`,
  unauthorized: `${PROBLEMS}#unauthorized`,
  invalidClient: `${PROBLEMS}#invalid-client`,
  clientDisabled: `${PROBLEMS}#client-disabled`,
  conflict: `${PROBLEMS}#conflict`,
  notFound: `${PROBLEMS}#not-found`,
  methodNotAllowed: `${PROBLEMS}#method-not-allowed`,
  payloadTooLarge: `${PROBLEMS}#payload-too-large`,
  unsupportedMediaType: `${PROBLEMS}#unsupported-media-type`,
  quotaExceeded: `${PROBLEMS}#quota-exceeded`,
  unavailable: `${PROBLEMS}#dependency-unavailable`,
  internal: `${PROBLEMS}#internal-error`,
} as const;

export const REASON_PHRASES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503;

export type ProblemInit = {
  status: ProblemStatus;
  type: string;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
};

/**
 * A problem that any layer may throw; the app's error handler renders it as RFC 9457
 * problem+json (lib/problem-response.ts). Its `detail` is always safe to show to the caller.
 */
export class HttpProblem extends Error {
  readonly init: ProblemInit;
  /** `cause` is logged with the request id, never rendered. */
  constructor(init: ProblemInit, cause?: unknown) {
    super(init.detail, cause === undefined ? undefined : { cause });
    this.name = "HttpProblem";
    this.init = init;
  }
}

export const notFound = (detail = "The requested resource was not found."): HttpProblem =>
  new HttpProblem({ status: 404, type: PROBLEM_TYPES.notFound, detail });

export const clientNotFound = (): HttpProblem => notFound("Client not found.");

export const forbidden = (detail = "This operation is not permitted for the caller's role."): HttpProblem =>
  new HttpProblem({ status: 403, type: PROBLEM_TYPES.forbidden, detail });

export const unavailable = (detail: string, cause?: unknown): HttpProblem =>
  new HttpProblem({ status: 503, type: PROBLEM_TYPES.unavailable, detail, headers: { "retry-after": "1" } }, cause);

export const validationFailed = (errors: FieldError[], detail = "The request failed validation."): HttpProblem =>
  new HttpProblem({ status: 400, type: PROBLEM_TYPES.validation, detail, errors });

export const badRequest = (detail: string): HttpProblem =>
  new HttpProblem({ status: 400, type: PROBLEM_TYPES.badRequest, detail });
