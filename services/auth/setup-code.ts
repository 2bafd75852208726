// The one-time setup code (no default password): made on first boot while no user exists,
// printed to the log and written to <data>/setup-code (0600) until the first super_admin is
// created with it. A restart before setup keeps the same code (the file); the button's long
// press prints it again. 16 characters of Crockford base32 = 80 bits: unguessable at 10
// attempts per minute per IP.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../common/errors.js';
import { fsyncDir, writeFileAtomic } from '../common/fs-atomic.js';

export const SETUP_CODE_FILE = 'setup-code';
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function makeSetupCode(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[bytes[i]! & 31];
  return out.replace(/(.{4})(?!$)/g, '$1-');
}

/** Case, dashes and spaces do not matter; the look-alikes O/I/L read as 0/1/1. */
export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function codesEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(normaliseCode(a)).digest();
  const hb = createHash('sha256').update(normaliseCode(b)).digest();
  return timingSafeEqual(ha, hb);
}

export class SetupCode {
  private code: string | null = null;
  constructor(private readonly dataDir: string) {}

  get path(): string { return join(this.dataDir, SETUP_CODE_FILE); }
  get current(): string | null { return this.code; }

  /** Reads the existing code or makes and writes a new one. */
  async ensure(): Promise<string> {
    try {
      const text = (await readFile(this.path, 'utf8')).trim();
      if (text) return (this.code = text);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    const code = makeSetupCode();
    await writeFileAtomic(this.path, `${code}\n`, { mode: 0o600 });
    return (this.code = code);
  }

  matches(candidate: string): boolean {
    return this.code !== null && codesEqual(this.code, candidate);
  }

  /** Burns the code: the file is removed and the code forgotten. */
  async burn(): Promise<void> {
    this.code = null;
    try {
      await unlink(this.path);
      await fsyncDir(this.dataDir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}
