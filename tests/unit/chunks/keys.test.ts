// Master key (0600, made once, atomically) and data-key wrapping.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createDecipheriv } from 'node:crypto';
import { loadOrCreateMasterKey, newDataKey, unwrapDataKey, wrapDataKey, MASTER_KEY_FILE, WRAPPED_KEY_BYTES } from '../../../services/chunks/index.js';
import { isLucidError } from '../../../services/common/errors.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'lucid-keys-')); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('master key', () => {
  it('is 32 random bytes in keys/master.key, 0600 in a 0700 folder, made once', async () => {
    const dir = tmp();
    const a = await loadOrCreateMasterKey(dir, log);
    expect(a.length).toBe(32);
    expect(statSync(join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'keys'))).toEqual(['master.key']); // no temp file left behind
    expect((await loadOrCreateMasterKey(dir, log)).equals(a)).toBe(true);
    expect((await loadOrCreateMasterKey(tmp(), log)).equals(a)).toBe(false);
  });

  it('narrows wide permissions and refuses a key of the wrong length', async () => {
    const dir = tmp();
    await loadOrCreateMasterKey(dir, log);
    chmodSync(join(dir, MASTER_KEY_FILE), 0o644);
    await loadOrCreateMasterKey(dir, log);
    expect(statSync(join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, MASTER_KEY_FILE), Buffer.alloc(31), { mode: 0o600 });
    await expect(loadOrCreateMasterKey(dir, log)).rejects.toSatisfy((e: unknown) => isLucidError(e, 'CHUNK_ERR_MASTER_KEY'));
  });
});

describe('data key wrapping', () => {
  it('0x01 ‖ nonce ‖ AES-256-GCM(master, aad = "lucid-data-key-v1:" ‖ id) ‖ tag, bound to the session', () => {
    const master = newDataKey();
    const key = newDataKey();
    const id = '01900000-0000-7000-8000-00000000000a';
    const wrapped = wrapDataKey(master, id, key);
    expect(wrapped.length).toBe(WRAPPED_KEY_BYTES);
    expect(wrapped[0]).toBe(1);
    expect(unwrapDataKey(master, id, wrapped).equals(key)).toBe(true);
    // As documented, with node:crypto alone.
    const d = createDecipheriv('aes-256-gcm', master, wrapped.subarray(1, 13));
    d.setAAD(Buffer.from(`lucid-data-key-v1:${id}`));
    d.setAuthTag(wrapped.subarray(45));
    expect(Buffer.concat([d.update(wrapped.subarray(13, 45)), d.final()]).equals(key)).toBe(true);
    const bad = (f: () => unknown): void => expect(f).toThrow(expect.objectContaining({ code: 'CHUNK_ERR_KEY_INVALID' }));
    bad(() => unwrapDataKey(master, '01900000-0000-7000-8000-00000000000b', wrapped));
    bad(() => unwrapDataKey(newDataKey(), id, wrapped));
    bad(() => unwrapDataKey(master, id, wrapped.subarray(1)));
  });
});
