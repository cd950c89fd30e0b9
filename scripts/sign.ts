// Prints a valid x-signature for the dev machine key in .dev.vars, for curl; `npm run sign -- --help`
// for the options. Only the token goes to stdout, so `SIG=$(npm run -s sign -- --user)` works; with
// `--cookie`, a Set-Cookie value and a document.cookie line for a browser instead.
import { deriveSignatureKeyBytes } from "../src/auth/machine-key.ts";
import { signJws } from "../src/auth/sign-token.ts";
import { readDevVar } from "./dev-vars.ts";
import { describeSignature, devClaims, parseSignArgs, SIGN_USAGE, signatureCookie } from "./sign-args.ts";

/** Exit status for a bad command line, as most Unix tools use. */
const USAGE_ERROR = 2;

const parsed = parseSignArgs(process.argv.slice(2));
if (parsed.kind === "help") {
  process.stdout.write(SIGN_USAGE);
} else if (parsed.kind === "error") {
  process.stderr.write(`sign: ${parsed.message} (npm run sign -- --help for usage)\n`);
  process.exitCode = USAGE_ERROR;
} else {
  let machineKey: string;
  try {
    machineKey = readDevVar("DOCSPACE_MACHINE_KEY");
  } catch (error) {
    process.stderr.write(`sign: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const now = Math.floor(Date.now() / 1000);
  for (const warning of parsed.warnings) process.stderr.write(`sign: warning: ${warning}\n`);
  process.stderr.write(`${describeSignature(parsed.options, now)}\n`);
  const token = await signJws(devClaims(parsed.options, now), deriveSignatureKeyBytes(machineKey));
  if (parsed.options.cookie) {
    const { setCookie, documentCookie } = signatureCookie(token, parsed.options.ttlSeconds);
    process.stderr.write(
      `Put it in the browser for ${parsed.options.tenantUrl}: paste the second line into the devtools console, or add the cookie under Application → Cookies.\n`,
    );
    process.stdout.write(`${setCookie}\n${documentCookie}\n`);
  } else {
    process.stdout.write(`${token}\n`);
  }
}
