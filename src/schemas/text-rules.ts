import type { ValidationCode } from "../lib/problem";

/**
 * Text rules of SPEC §6 for `name` and `description`: names are shown on consent screens and in
 * admin lists, so a name must not be able to hide, reorder or fake what a person reads there.
 */

export const MIN_NAME_LENGTH = 3;
export const MAX_NAME_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 255;

export type TextProblem = { code: ValidationCode; message: string };

/** Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder what follows. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** Control characters (Cc) other than newline and tab, which a description may contain. */
const DESCRIPTION_CONTROL = /[^\P{Cc}\n\t]/u;
/**
 * What renders as nothing on its own: white space, controls, format characters (zero-width
 * spaces and joiners, bidi marks), combining marks, default-ignorable code points (Hangul fillers,
 * variation selectors) and the blank Braille pattern that is popular for "empty" names.
 */
const INVISIBLE = /[\p{White_Space}\p{Cc}\p{Cf}\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}\u2800]/u;

/** How many code points of `value` render as something visible. */
export function visibleCharacterCount(value: string): number {
  let count = 0;
  for (const character of value) if (!INVISIBLE.test(character)) count += 1;
  return count;
}

/**
 * Every rule a `name` breaks (SPEC §6), empty if none; `EmptyFieldError` alone when it is blank.
 * Checked after trimming, which is what gets stored.
 */
export function nameProblems(value: string): TextProblem[] {
  const trimmed = value.trim();
  if (trimmed === "") return [{ code: "EmptyFieldError", message: "name is required" }];
  const problems: TextProblem[] = [];
  if (/\p{Cc}/u.test(trimmed))
    problems.push({ code: "ErrorPattern", message: "name must not contain control characters" });
  if (BIDI_CONTROL.test(trimmed))
    problems.push({ code: "ErrorPattern", message: "name must not contain bidirectional control characters" });
  if (trimmed.length < MIN_NAME_LENGTH || trimmed.length > MAX_NAME_LENGTH)
    problems.push({ code: "ErrorName", message: `name must be ${MIN_NAME_LENGTH} to ${MAX_NAME_LENGTH} characters` });
  else if (visibleCharacterCount(trimmed) < MIN_NAME_LENGTH)
    problems.push({ code: "ErrorName", message: `name must have at least ${MIN_NAME_LENGTH} visible characters` });
  return problems;
}

/** Every rule a `description` breaks (SPEC §6), empty if none. It is stored as sent, so all of it is checked. */
export function descriptionProblems(value: string): TextProblem[] {
  const problems: TextProblem[] = [];
  if (DESCRIPTION_CONTROL.test(value))
    problems.push({
      code: "ErrorPattern",
      message: "description must not contain control characters other than newline and tab",
    });
  if (BIDI_CONTROL.test(value))
    problems.push({ code: "ErrorPattern", message: "description must not contain bidirectional control characters" });
  if (value.length > MAX_DESCRIPTION_LENGTH)
    problems.push({ code: "ErrorName", message: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` });
  return problems;
}
