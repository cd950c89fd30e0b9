import { type PurgeReport, purgeExpired } from "./authorization/purge";
import { authorizationSettings } from "./authorization/settings";
import { createDb } from "./db/client";
import { signingKeySettings } from "./keys/settings";
import { type RotationReport, rotateSigningKeys } from "./keys/signing-keys";
import { describeError } from "./lib/describe-error";

/** At most this many rows per authorization table per run; the rest wait for the next run (30 min later). */
export const PURGE_LIMIT_PER_RUN = 500;

/** What one run did: each job's report, or `undefined` for a job that failed (and was logged). */
export type ScheduledReport = { rotation?: RotationReport; purge?: PurgeReport };

/**
 * The Cron Trigger (`[triggers] crons` in wrangler.toml, every 30 minutes): rotates the signing keys
 * (AS §5.3), then deletes expired authorization state (pending requests, codes, refresh families;
 * `purgeExpired`, at most `PURGE_LIMIT_PER_RUN` rows per table). Builds the dependencies itself, as
 * there is no request. The jobs are independent: each writes one JSON log line with what it did or
 * with its error, and a failing job does not stop the other. If either failed, the error (the
 * first, or both in an `AggregateError`) is rethrown after both ran, so the invocation is marked
 * failed.
 */
export async function runScheduled(
  controller: ScheduledController,
  env: Env,
  now = Date.now(),
): Promise<ScheduledReport> {
  const db = createDb(env.DB);
  const base = { cron: controller.cron, scheduled_time: controller.scheduledTime };
  // The clock, not `scheduledTime`: a late run must not date a new key earlier than its publication.
  const rotation = await logged("signing key rotation", base, () =>
    rotateSigningKeys({ db, now, signingKeys: signingKeySettings(env) }),
  );
  const purge = await logged("authorization store purge", base, () =>
    purgeExpired({ db, now, authorization: authorizationSettings(env) }, PURGE_LIMIT_PER_RUN),
  );
  const errors = [rotation, purge].filter((outcome) => !outcome.ok).map((outcome) => outcome.error);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "scheduled jobs failed");
  return { rotation: rotation.ok ? rotation.report : undefined, purge: purge.ok ? purge.report : undefined };
}

type Outcome<T> = { ok: true; report: T } | { ok: false; error: unknown };

/** Runs one job and logs one line: its report at `info`, or its error at `error` (class and message only). */
async function logged<T extends object>(
  msg: string,
  base: Record<string, unknown>,
  job: () => Promise<T>,
): Promise<Outcome<T>> {
  const started = performance.now();
  try {
    const report = await job();
    console.log(JSON.stringify({ level: "info", msg, ...base, ...report, duration_ms: elapsed(started) }));
    return { ok: true, report };
  } catch (error) {
    console.error(
      JSON.stringify({ level: "error", msg, ...base, error: describeError(error), duration_ms: elapsed(started) }),
    );
    return { ok: false, error };
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
