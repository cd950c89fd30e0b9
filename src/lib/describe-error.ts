/**
 * `Class: message`, followed by its causes. Drizzle's query errors append the statement's bound
 * values (client data, secret hashes) to their message after `params:`; that part is cut, the SQL
 * text and the driver's cause are kept. A thrown non-Error is named only by its type.
 */
export function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return `non-Error thrown (${typeof error})`;
  const paramsAt = error.message.search(/\n\s*params:/);
  const text = `${error.name}: ${paramsAt === -1 ? error.message : error.message.slice(0, paramsAt)}`;
  return error.cause !== undefined && depth < 3 ? `${text} <- ${describeError(error.cause, depth + 1)}` : text;
}
