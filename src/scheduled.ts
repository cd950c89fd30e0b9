import { createDb } from "./db/client";
import { signingKeySettings } from "./keys/settings";
import { type RotationReport, rotateSigningKeys } from "./keys/signing-keys";
import { describeError } from "./lib/describe-error";

/**
 * The Cron Trigger (`[triggers] crons` in wrangler.toml, every 30 minutes): rotates the signing keys
 * (AS §5.3). Builds the dependencies itself, as there is no request, and writes one JSON log line
 * with what it did, or with the error, which it then rethrows so the invocation is marked failed.
 */
export async function runScheduled(
  controller: ScheduledController,
  env: Env,
  now = Date.now(),
): Promise<RotationReport> {
  const started = performance.now();
  const base = { msg: "signing key rotation", cron: controller.cron, scheduled_time: controller.scheduledTime };
  try {
    // The clock, not `scheduledTime`: a late run must not date a new key earlier than its publication.
    const report = await rotateSigningKeys({ db: createDb(env.DB), now, signingKeys: signingKeySettings(env) });
    console.log(JSON.stringify({ level: "info", ...base, ...report, duration_ms: elapsed(started) }));
    return report;
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", ...base, error: describeError(error), duration_ms: elapsed(started) }),
    );
    throw error;
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
