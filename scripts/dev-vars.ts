// Reads the development secrets in .dev.vars (created from .dev.vars.example by
// scripts/ensure-dev-vars.mjs), for the scripts that sign requests or start the gateway themselves.
import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The value of `NAME=value` in .dev.vars (surrounding quotes removed); throws when it is missing or empty. */
export function readDevVar(name: string): string {
  const text = readFileSync(path.join(ROOT, ".dev.vars"), "utf8");
  const line = text.split(/\r?\n/).find((l) => l.startsWith(`${name}=`));
  const value = line
    ?.slice(name.length + 1)
    .trim()
    .replace(/^"(.*)"$/, "$1");
  if (!value) throw new Error(`${name} is missing from .dev.vars`);
  return value;
}
