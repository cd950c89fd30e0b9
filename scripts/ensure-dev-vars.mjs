// Creates .dev.vars from .dev.vars.example when it is missing, so `npm start`, `npm run sign`
// and `wrangler types` work on a fresh clone without a manual step. Never overwrites.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  // stderr: `SIG=$(npm run -s sign)` on a fresh clone must capture only the token.
  console.error("Created .dev.vars from .dev.vars.example (development values only).");
}
