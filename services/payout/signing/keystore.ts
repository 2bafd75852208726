// The encrypted keystore: the payout wallet's secp256k1 key, sealed with XChaCha20-Poly1305
// under a key derived from an admin's passphrase with scrypt. The file never holds the key in
// clear; the passphrase is never stored. An admin unlocks it for one session (a time limit, or
// until locked or the process restarts); the key then lives only in this process's memory and
// is overwritten when the session ends.
//
// File (JSON, mode 0600, written atomically): format, address, kdf {name: scrypt, N, r, p,
// salt}, cipher, nonce (24 B), sealed (32-byte key ‖ 16-byte tag), all binary base64. The
// associated data is the canonical header (format ‖ address ‖ kdf params ‖ salt), so a file
// whose parameters were weakened or whose address was swapped does not open.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { LucidError, errnoCode } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs-atomic.js';
import { addressOfPrivateKey } from '../tron/address.js';

export const KEYSTORE_FORMAT = 'lucid-payout-keystore/1';
export const MIN_PASSPHRASE = 12;
/** 2^15 × 8 × 128 B = 32 MiB of memory per derivation; stored per file, so it can grow later. */
export const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

interface KeystoreFile {
  readonly format: string;
  readonly address: string;
  readonly kdf: { readonly name: 'scrypt'; readonly N: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: 'xchacha20-poly1305';
  readonly nonce: string;
  readonly sealed: string;
}

function derive(passphrase: string, kdf: KeystoreFile['kdf']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFKC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const aad = (f: Pick<KeystoreFile, 'format' | 'address' | 'kdf'>): Uint8Array =>
  new TextEncoder().encode(`${f.format}\n${f.address}\nscrypt:${f.kdf.N}:${f.kdf.r}:${f.kdf.p}:${f.kdf.salt}`);

function parse(text: string): KeystoreFile {
  let f: KeystoreFile;
  try {
    f = JSON.parse(text) as KeystoreFile;
  } catch {
    throw new LucidError('PAYOUT_ERR_KEYSTORE', 'keystore file is not JSON');
  }
  const ok = f.format === KEYSTORE_FORMAT && typeof f.address === 'string' && f.kdf?.name === 'scrypt' && f.cipher === 'xchacha20-poly1305'
    && [f.kdf.N, f.kdf.r, f.kdf.p].every((n) => Number.isSafeInteger(n) && n > 0) && f.kdf.N >= 2 ** 14 && (f.kdf.N & (f.kdf.N - 1)) === 0
    && Buffer.from(f.nonce ?? '', 'base64').length === 24 && Buffer.from(f.sealed ?? '', 'base64').length === 48 && Buffer.from(f.kdf.salt ?? '', 'base64').length >= 16;
  if (!ok) throw new LucidError('PAYOUT_ERR_KEYSTORE', 'keystore file is malformed (or its KDF is weaker than allowed)');
  return f;
}

/** After n wrong passphrases in a row, the next try waits min(2^(n−1) s, 15 min). */
export const unlockBackoffMs = (failures: number): number => (failures === 0 ? 0 : Math.min(2 ** (failures - 1) * 1000, 15 * 60_000));

export class Keystore {
  private key: Uint8Array | null = null;
  private failures = 0;
  private lastFailure = 0;
  private lockTimer: NodeJS.Timeout | undefined;
  private unlockedUntil = 0;

  constructor(private readonly path: string, private readonly now: () => number = Date.now) {}

  async exists(): Promise<boolean> {
    return (await this.readFile()) !== null;
  }

  /** The wallet address (readable without the passphrase), or null without a keystore. */
  async address(): Promise<string | null> {
    const text = await this.readFile();
    return text === null ? null : parse(text).address;
  }

  /** Creates a fresh key sealed under `passphrase`. Refused when a keystore exists. */
  async create(passphrase: string, kdf: { N: number; r: number; p: number } = DEFAULT_KDF): Promise<string> {
    if (passphrase.length < MIN_PASSPHRASE) throw new LucidError('PAYOUT_ERR_PASSPHRASE', `a keystore passphrase has at least ${MIN_PASSPHRASE} characters`);
    if (await this.exists()) throw new LucidError('PAYOUT_ERR_KEYSTORE', 'a keystore exists already');
    const secret = secp256k1.utils.randomSecretKey();
    const address = addressOfPrivateKey(secret);
    const header = { format: KEYSTORE_FORMAT, address, kdf: { name: 'scrypt' as const, ...kdf, salt: randomBytes(16).toString('base64') } };
    const derived = await derive(passphrase, header.kdf);
    const nonce = randomBytes(24);
    const sealed = xchacha20poly1305(derived, nonce, aad(header)).encrypt(secret);
    derived.fill(0);
    secret.fill(0);
    const file: KeystoreFile = { ...header, cipher: 'xchacha20-poly1305', nonce: nonce.toString('base64'), sealed: Buffer.from(sealed).toString('base64') };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    return address;
  }

  /** Opens the key for `ttlMs`; a wrong passphrase is PAYOUT_ERR_PASSPHRASE. */
  async unlock(passphrase: string, ttlMs: number): Promise<{ address: string; until: number }> {
    // Guessing through the API (an admin account, or a compromised core) is slowed down.
    const wait = this.lastFailure + unlockBackoffMs(this.failures) - this.now();
    if (wait > 0) throw new LucidError('PAYOUT_ERR_PASSPHRASE', `too many wrong passphrases: try again in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
    const text = await this.readFile();
    if (text === null) throw new LucidError('PAYOUT_ERR_KEYSTORE', 'no keystore: create one first');
    const f = parse(text);
    const derived = await derive(passphrase, f.kdf);
    let secret: Uint8Array;
    try {
      secret = xchacha20poly1305(derived, Buffer.from(f.nonce, 'base64'), aad(f)).decrypt(Buffer.from(f.sealed, 'base64'));
    } catch {
      this.failures++;
      this.lastFailure = this.now();
      throw new LucidError('PAYOUT_ERR_PASSPHRASE');
    } finally {
      derived.fill(0);
    }
    if (!timingSafeEqual(Buffer.from(addressOfPrivateKey(secret)), Buffer.from(f.address))) {
      secret.fill(0);
      throw new LucidError('PAYOUT_ERR_KEYSTORE', 'the keystore key does not belong to its address');
    }
    this.lock();
    this.failures = 0;
    this.key = secret;
    this.unlockedUntil = this.now() + ttlMs;
    this.lockTimer = setTimeout(() => this.lock(), ttlMs);
    this.lockTimer.unref();
    return { address: f.address, until: this.unlockedUntil };
  }

  lock(): void {
    clearTimeout(this.lockTimer);
    this.key?.fill(0);
    this.key = null;
    this.unlockedUntil = 0;
  }

  get unlocked(): { until: number } | null {
    return this.key && this.now() < this.unlockedUntil ? { until: this.unlockedUntil } : null;
  }

  /** Runs `use` with the key; PAYOUT_ERR_LOCKED when no session is open. */
  withKey<T>(use: (key: Uint8Array) => T): T {
    if (!this.key || this.now() >= this.unlockedUntil) {
      this.lock();
      throw new LucidError('PAYOUT_ERR_LOCKED');
    }
    return use(this.key);
  }

  private async readFile(): Promise<string | null> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  }
}
