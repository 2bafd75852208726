// The encrypted keystore: the key never lands on disk in clear (in any encoding), a wrong
// passphrase or a tampered file does not open, weakened KDF parameters are refused, the
// session ends (the key is wiped) when its time is up or it is locked.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Keystore, KEYSTORE_FORMAT } from '../../../services/payout/signing/keystore.js';
import { addressOfPrivateKey } from '../../../services/payout/tron/address.js';

const PASS = 'a long enough passphrase';
const FAST = { N: 2 ** 14, r: 8, p: 1 };
const dir = (): string => mkdtempSync(join(tmpdir(), 'lucid-ks-'));

describe('payout keystore', () => {
  it('seals a fresh key: the file (0600) holds it in no encoding; unlocking gives the key of its address', async () => {
    const d = dir();
    const ks = new Keystore(join(d, 'keystore.json'));
    const address = await ks.create(PASS, FAST);
    expect(statSync(join(d, 'keystore.json')).mode & 0o777).toBe(0o600);
    expect(await ks.address()).toBe(address);
    await ks.unlock(PASS, 60_000);
    const key = ks.withKey((k) => Buffer.from(k));
    expect(addressOfPrivateKey(key)).toBe(address);
    for (const f of readdirSync(d)) {
      const bytes = readFileSync(join(d, f));
      for (const needle of [key, Buffer.from(key.toString('hex')), Buffer.from(key.toString('base64')), Buffer.from(key.toString('base64url'))]) {
        expect(bytes.includes(needle), `${f} holds the key`).toBe(false);
      }
    }
    expect(JSON.parse(readFileSync(join(d, 'keystore.json'), 'utf8'))).toMatchObject({ format: KEYSTORE_FORMAT, address, cipher: 'xchacha20-poly1305', kdf: { name: 'scrypt', N: FAST.N } });
  });

  it('refuses a wrong passphrase, a short one, a second keystore and a tampered file', async () => {
    const d = dir();
    const path = join(d, 'keystore.json');
    // Each clock reading an hour later: the back-off after wrong passphrases never gets in the way here.
    let t = 0;
    const ks = new Keystore(path, () => (t += 3_600_000));
    await expect(ks.create('short', FAST)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    await ks.create(PASS, FAST);
    await expect(ks.create(PASS, FAST)).rejects.toMatchObject({ code: 'PAYOUT_ERR_KEYSTORE' });
    await expect(ks.unlock(`${PASS}!`, 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    const file = JSON.parse(readFileSync(path, 'utf8'));
    // Another address in the header: the associated data no longer matches.
    writeFileSync(path, JSON.stringify({ ...file, address: addressOfPrivateKey(Uint8Array.from(Buffer.alloc(32, 3))) }));
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    // Weakened KDF: refused outright.
    writeFileSync(path, JSON.stringify({ ...file, kdf: { ...file.kdf, N: 1024 } }));
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_KEYSTORE' });
    writeFileSync(path, JSON.stringify({ ...file, sealed: Buffer.alloc(48, 1).toString('base64') }));
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    writeFileSync(path, JSON.stringify(file));
    await expect(ks.unlock(PASS, 1000)).resolves.toMatchObject({ address: file.address });
  });

  it('wrong passphrases in a row slow the next try down (1 s, 2 s, 4 s … 15 min), without running scrypt', async () => {
    let now = 5_000_000;
    const ks = new Keystore(join(dir(), 'keystore.json'), () => now);
    await ks.create(PASS, FAST);
    await expect(ks.unlock('wrong passphrase 1', 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE', details: { retryAfterMs: 1000 } });
    now += 1000;
    await expect(ks.unlock('wrong passphrase 2', 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    now += 1999;
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ details: { retryAfterMs: 1 } });
    now += 1;
    await expect(ks.unlock(PASS, 1000)).resolves.toMatchObject({ address: await ks.address() });
    await expect(ks.unlock('wrong again', 1000)).rejects.toMatchObject({ code: 'PAYOUT_ERR_PASSPHRASE' });
    await expect(ks.unlock(PASS, 1000)).rejects.toMatchObject({ details: { retryAfterMs: 1000 } });
  });

  it('a session ends when its time is up or when locked; the key buffer is wiped', async () => {
    let now = 1_000_000;
    const ks = new Keystore(join(dir(), 'keystore.json'), () => now);
    await ks.create(PASS, FAST);
    await ks.unlock(PASS, 5000);
    let held: Uint8Array | null = null;
    ks.withKey((k) => { held = k; });
    expect(ks.unlocked).not.toBeNull();
    now += 5001;
    expect(() => ks.withKey(() => 1)).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_LOCKED' }));
    expect(Buffer.from(held!).equals(Buffer.alloc(32))).toBe(true);
    await ks.unlock(PASS, 5000);
    ks.lock();
    expect(ks.unlocked).toBeNull();
    expect(() => ks.withKey(() => 1)).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_LOCKED' }));
  });
});
