import { validationFailed } from '../http/errors.ts';
import { codePointLength } from '../shared/limits.ts';

/**
 * What no name or email may hold: controls (Cc: C0, DEL, C1), format characters (Cf, the
 * bidirectional controls among them), the line and paragraph separators, and every
 * default-ignorable code point (zero-width characters, fillers such as U+3164, U+115F and
 * U+FFA0, variation selectors, tags). Each either renders as nothing or changes how the text
 * around it renders, so two names that look the same could differ only in them.
 */
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
/** Characters that show as blank space; a name made only of them is blank. */
const BLANK = /[\p{White_Space}\u2800]/gu;
const ASCII = /^[\x00-\x7f]*$/;

/**
 * A name as stored: NFC, trimmed, at most `maxLength` characters (code points, as
 * visibleLength counts them). Refuses, with a validation error at the body's `pointer`, any invisible or control character (anywhere, not
 * only at the ends) and a name that is blank.
 */
export function normalizeVisibleText(raw: string, pointer: string, maxLength: number): string {
  const text = raw.normalize('NFC');
  const invisible = INVISIBLE_OR_CONTROL.exec(text);
  if (invisible !== null) {
    const codePoint = (invisible[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
    throw validationFailed(pointer, `must not contain invisible or control characters (it holds U+${codePoint})`);
  }
  const trimmed = text.trim();
  if (trimmed.replace(BLANK, '') === '') throw validationFailed(pointer, 'must not be empty or blank');
  if (codePointLength(trimmed) > maxLength) throw validationFailed(pointer, `must be at most ${maxLength} characters`);
  return trimmed;
}

/**
 * The form in which names (access keys) and emails (users) are compared for uniqueness and
 * looked up: NFKC, then case folded, then NFKC again, so that `ｃｉ-ｂｏｔ`, `CI-Bot` and
 * `ci-bot` are one name, and `Straße` and `strasse` too. The fold takes each character's
 * upper case and then its lower case, which folds like Unicode's full case folding (ß to ss,
 * final sigma to sigma) without the locale and context rules of toLowerCase on whole strings.
 * Stored in a column with a unique index (the database does not know Unicode's rules).
 */
export function comparisonKey(text: string): string {
  // ASCII is its own NFKC form and folds to its lower case in every locale: skip the Unicode work.
  if (ASCII.test(text)) return text.toLowerCase();
  let folded = '';
  for (const character of text.normalize('NFKC')) folded += character.toUpperCase().toLowerCase();
  return folded.normalize('NFKC');
}
