// One canonical form of a username, used everywhere a name is created, looked up, rate limited,
// locked out, audited or reported as taken — so no spelling of a name can reach an account and
// be counted under another key. The rules (README "Usernames"):
//   folded   — compatibility forms (NFKC: full-width ｅｒｉｎ, ligatures, ſ, the Kelvin sign,
//              superscripts, no-break and ideographic spaces), letter case (full folding: ß → ss,
//              ς → σ, İ/ı → i), and white space at either end;
//   rejected — anything invisible or ambiguous inside the name: white space, control and format
//              characters (zero-width space/joiners, BOM, soft hyphen, bidi marks), other default-
//              ignorable code points (variation selectors, Hangul fillers), private-use,
//              unassigned and lone surrogate code points. A rejected name is a 400
//              AUTH_ERR_USERNAME_INVALID, at login too (it cannot name an account).
// Letters of other scripts that merely look alike (Cyrillic е for Latin e) are not folded: new
// names are ASCII only (the Username schema), so such a spelling names no account at all and its
// failed logins touch no one's lockout.
import { LucidError } from '../common/errors.js';

const MAX_LENGTH = 64;
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu; // not \s, which counts the BOM as space
// \p{C}: Cc control, Cs lone surrogates (the u flag sees them as code points),, Cf format (U+200B–U+200F, U+2060, U+FEFF, U+00AD, bidi), Cs, Co, Cn.
const INVISIBLE = /[\p{White_Space}\p{C}\p{Default_Ignorable_Code_Point}]/u;

// Full case folding as the upper-then-lower round trip: also ß → ss, ς → σ, ı → i.
const caseFold = (s: string): string => s.toUpperCase().toLowerCase();

/** The canonical form, or null when the text cannot be a username (see the rules above). */
export function canonicalUsername(raw: string): string | null {
  const trimmed = raw.normalize('NFKC').replace(EDGE_SPACE, '');
  if (trimmed.length === 0 || INVISIBLE.test(trimmed)) return null;
  // Folding can leave text that is not NFKC (İ → i + U+0307); normalise again, then check once more.
  const folded = caseFold(trimmed).normalize('NFKC');
  if (folded.length === 0 || folded.length > MAX_LENGTH || INVISIBLE.test(folded)) return null;
  return folded;
}

/** The canonical form, or a 400 AUTH_ERR_USERNAME_INVALID. */
export function requireCanonical(raw: string): string {
  const canonical = canonicalUsername(raw);
  if (canonical === null) throw new LucidError('AUTH_ERR_USERNAME_INVALID');
  return canonical;
}
