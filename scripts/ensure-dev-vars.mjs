// Creates .dev.vars from .dev.vars.example when it is missing, so `npm start`, `npm run sign`
// and `wrangler types` work on a fresh clone without a manual step. An existing .dev.vars is never
// overwritten, but a variable added to the example later (e.g. SIGNING_KEY_ENCRYPTION_KEY) is appended
// to it, so an older checkout keeps starting with nothing else to do.
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";

/** `NAME=value` lines of a dotenv file, by name. */
function variables(file) {
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  return new Map(
    lines
      .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1], match.input.trim()]),
  );
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  // stderr: `SIG=$(npm run -s sign)` on a fresh clone must capture only the token.
  console.error("Created .dev.vars from .dev.vars.example (development values only).");
} else {
  const present = variables(".dev.vars");
  const missing = [...variables(".dev.vars.example")].filter(([name]) => !present.has(name));
  if (missing.length > 0) {
    const text = readFileSync(".dev.vars", "utf8");
    const separator = text === "" || text.endsWith("\n") ? "" : "\n";
    appendFileSync(".dev.vars", `${separator}${missing.map(([, line]) => line).join("\n")}\n`);
    // stderr: `SIG=$(npm run -s sign)` must capture only the token, also on the run that appends.
    console.error(`Added ${missing.map(([name]) => name).join(", ")} to .dev.vars from .dev.vars.example.`);
  }
}
