// Password hashing with scrypt (node:crypto) and the password policy. Hashes are self-describing
// (`scrypt$N$r$p$salt$hash`, base64url) so the cost can be raised later without a migration:
// old hashes keep verifying with their own parameters.
//
// Cost: N = 2^15, r = 8, p = 1 → 32 MiB and ~90 ms per hash on this x86 (measured), a few
// hundred ms on a Pi 4. OWASP's first choice (N = 2^17) would cost 128 MiB per concurrent login,
// too much for a 1–2 GB Pi; login attempts are also limited to 10/min per IP and account.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { LucidError } from '../common/errors.js';
import { isCommonPassword } from './common-passwords.js';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

interface Params { N: number; r: number; p: number }
const DEFAULT: Params = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, params: Params): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: Params = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = encoded.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: verifying against it costs what a real check costs (no user-enumeration timing). */
let dummy: Promise<string> | null = null;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummy;
}

/** Throws AUTH_ERR_WEAK_PASSWORD with the reason; the policy of DESIGN §2 / issue #4. */
export function checkPasswordPolicy(password: string, username?: string): void {
  const reasons: string[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH) reasons.push(`have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) reasons.push(`have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (isCommonPassword(password)) reasons.push('not be a commonly used password');
  if (username && username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) reasons.push('not contain the username');
  if (/^(.)\1+$/.test(password)) reasons.push('not be one repeated character');
  if (reasons.length > 0) throw new LucidError('AUTH_ERR_WEAK_PASSWORD', `the password must ${reasons.join(' and ')}`, { reasons });
}
