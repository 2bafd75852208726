// The load a power cut lands in, driven from the host through the guest's forwarded port, and the
// record of what the API acknowledged (the only promises a cut is checked against):
//   uploads    one large session (LUCID_POWER_UPLOAD_MIB, PUT in 4 MiB pieces: every 200 answer
//              acknowledges `received` bytes), then small ones in a loop, each stopped and
//              finalized (a finalize answered `completed` acknowledges the manifest)
//   accounts   a user created (201), logged in, logged out (200: its tokens are revoked), each
//              step appending to the audit chain; one login per ~6.5 s (the login limiter allows
//              10 a minute per address)
//   chain      the standalone chain's head, polled: every (height, hash) seen final
// Consensus voting runs underneath all of it (the appliance is its chain's only validator).
// The bytes of session n are AES-128-CTR keystream under a key derived from the seed, so any
// range can be recomputed for the check without keeping 200 MiB around.
import { createCipheriv, createHash } from 'node:crypto';
import { api, putData, type Target } from '../../helpers/upload.js';
import { fetchOn, targetOn, type Endpoint } from '../harness/appliance-api.js';

export interface SessionAck {
  id: string;
  /** hex AES key of the session's bytes */
  key: string;
  total: number;
  /** bytes the API acknowledged (the largest `received` answered) */
  acked: number;
  /** finalize answered `completed` */
  finalized: boolean;
}
export interface UserAck { id: string; username: string }
export interface RevokedLogin { username: string; accessToken: string; refreshToken: string }
export interface Acks {
  sessions: SessionAck[];
  users: UserAck[];
  revoked: RevokedLogin[];
  /** height → block hash, seen final through /api/v1/ledger/status */
  blocks: Record<number, string>;
}

export const PASSWORD = 'violet-anchor-41-drift-pc';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes [offset, offset + length) of a session's content (offset a multiple of 16). */
export function sessionBytes(keyHex: string, offset: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  return createCipheriv('aes-128-ctr', Buffer.from(keyHex, 'hex'), iv).update(Buffer.alloc(length));
}

/** SHA-256 of a session's first `length` bytes. */
export function sessionSha256(keyHex: string, length: number): string {
  const h = createHash('sha256');
  const step = 4 << 20;
  for (let at = 0; at < length; at += step) h.update(sessionBytes(keyHex, at, Math.min(step, length - at)));
  return h.digest('hex');
}

const json = (to: Endpoint, method: string, path: string, body?: unknown, token?: string): Promise<Response> => fetchOn(to)(path, {
  method,
  headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  signal: AbortSignal.timeout(120_000),
});

export interface WorkloadOptions {
  /** The guest's pinned HTTPS (plain HTTP from the LAN refuses every call with a token), or a loopback URL. */
  readonly to: Endpoint;
  /** The admin's token, renewed by the source before it expires (tests/vm/harness/appliance-api.ts adminTokenSource). */
  readonly adminToken: () => Promise<string>;
  readonly seed: number;
  readonly bigMiB: number;
  readonly smallMiB: number;
  /** tag in usernames and labels, distinct per boot sequence */
  readonly tag: string;
  /**
   * No new small session once this many bytes are acknowledged in all (this boot's and earlier
   * ones'): the data disk must not fill, or the appliance rightly answers 507 and that ends the
   * loop. Users, logins and the chain go on.
   */
  readonly maxAckedBytes: number;
}

export class Workload {
  readonly acks: Acks = { sessions: [], users: [], revoked: [], blocks: {} };
  /** Seconds the large upload took (null until it is acknowledged whole). */
  bigUploadS: number | null = null;
  /** Answers no cut explains (a 5xx, an unexpected 4xx) while the guest ran. */
  readonly problems: string[] = [];
  /** Connections closed before their TLS handshake finished, each retried (`unsent`): what and when. */
  readonly handshakeRetries: string[] = [];
  /** The small uploads stopped at maxAckedBytes. */
  uploadsPaused = false;
  private readonly began = performance.now();
  private halted = false;
  private loops: Promise<void>[] = [];
  private readonly rnd: () => number;
  private readonly target: Target;

  /** `base`: what earlier boots had acknowledged (still owed after this boot's cuts). */
  constructor(private readonly o: WorkloadOptions, base?: Acks) {
    this.rnd = mulberry32(o.seed ^ 0x5eed);
    this.target = targetOn(o.to, o.adminToken);
    if (base) this.acks = structuredClone(base);
  }

  start(): void {
    const loops = [this.uploads('small'), this.accounts(), this.chain()];
    if (this.o.bigMiB > 0) loops.push(this.uploads('big'));
    this.loops = loops.map((p) => p.catch((err: unknown) => {
      if (!this.halted) this.problems.push(`loop failed: ${(err as Error).stack ?? String(err)}`);
    }));
  }

  /** What was acknowledged so far (a copy: later answers do not change it). */
  snapshot(): Acks {
    return structuredClone(this.acks);
  }

  /** Stops issuing requests; answers arriving after this are not counted as problems. */
  halt(): void {
    this.halted = true;
  }

  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.loops);
  }

  private note(what: string, status: number, body: unknown): void {
    if (!this.halted) this.problems.push(`${what}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }

  /**
   * Runs a request again when its connection closed before the TLS handshake finished: no byte of
   * the request reached the appliance, so repeating it cannot do anything twice — what a browser
   * does too. The 200-cut run of 2026-12-07 had one such close in an hour of load through qemu's
   * user-mode NAT, with nothing about it in the guest's log (60 QMP freezes under 9,800 new
   * connections did not reproduce it); it ended that boot's upload loop early. Each retry is
   * listed (and printed per boot); a second failure of the same request is a problem.
   */
  private async unsent<T>(what: string, send: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await send();
      } catch (err) {
        if (tries >= 1 || this.halted || !handshakeNotDone(err)) throw err;
        this.handshakeRetries.push(`${what} at ${Math.round((performance.now() - this.began) / 100) / 10} s`);
        await this.pause(500);
      }
    }
  }

  /** `big`: one session of bigMiB in 4 MiB pieces; `small`: sessions of smallMiB, one after another. */
  private async uploads(kind: 'big' | 'small'): Promise<void> {
    const t0 = performance.now();
    for (let n = 0; !this.halted && (kind === 'small' || n === 0); n++) {
      const big = kind === 'big';
      if (!big && this.acks.sessions.reduce((a, s) => a + s.acked, 0) >= this.o.maxAckedBytes) {
        this.uploadsPaused = true;
        return;
      }
      const total = (big ? this.o.bigMiB : this.o.smallMiB) << 20;
      const piece = big ? 4 << 20 : 512 << 10;
      const key = createHash('sha256').update(`${this.o.seed}:${this.o.tag}:${kind}:${n}`).digest('hex').slice(0, 32);
      const c = await this.unsent('create session', () => api(this.target, 'POST', '/api/v1/sessions', { chunkSize: 1024 * 1024, labels: { test: 'power-cut', tag: this.o.tag, kind, n: String(n) } }));
      if (c.status !== 201) return this.note('create session', c.status, c.json);
      const s: SessionAck = { id: c.json.id as string, key, total, acked: 0, finalized: false };
      this.acks.sessions.push(s);
      const st = await this.unsent('start', () => api(this.target, 'POST', `/api/v1/sessions/${s.id}/start`));
      if (st.status !== 200) return this.note('start', st.status, st.json);
      for (let at = 0; at < total && !this.halted; at += piece) {
        const put = await this.unsent(`PUT ${s.id}@${at}`, () => putData(this.target, s.id, at, sessionBytes(key, at, Math.min(piece, total - at))));
        if (put === 'cut' || put.status !== 200) return this.note(`PUT ${s.id}@${at}`, put === 'cut' ? 0 : put.status, put === 'cut' ? 'cut' : put.body);
        s.acked = Math.max(s.acked, Number(put.body.received));
      }
      if (this.halted) return;
      if (big) this.bigUploadS = Math.round((performance.now() - t0) / 100) / 10;
      const stop = await this.unsent('stop', () => api(this.target, 'POST', `/api/v1/sessions/${s.id}/stop`));
      if (stop.status !== 200) return this.note('stop', stop.status, stop.json);
      const fin = await this.unsent('finalize', () => api(this.target, 'POST', `/api/v1/sessions/${s.id}/finalize`));
      if (fin.status !== 200 || fin.json.state !== 'completed') return this.note('finalize', fin.status, fin.json);
      s.finalized = true;
    }
  }

  private async accounts(): Promise<void> {
    for (let n = 0; !this.halted; n++) {
      const began = Date.now();
      const username = `pc-${this.o.tag}-${n}`;
      const token = await this.unsent('admin token', () => this.o.adminToken());
      const created = await this.unsent('create user', () => json(this.o.to, 'POST', '/api/v1/users', { username, password: PASSWORD, role: 'user' }, token));
      const body = (await created.json()) as { id: string };
      if (created.status !== 201) return this.note('create user', created.status, body);
      this.acks.users.push({ id: body.id, username });
      if (this.halted) return;
      // The login limiter (10 a minute per address) also counts the harness's and the checks'
      // logins after a boot: a 429 is the appliance doing its job, not a finding — wait it out.
      const logIn = (): Promise<Response> => this.unsent('login', () => json(this.o.to, 'POST', '/api/v1/auth/login', { username, password: PASSWORD }));
      let login = await logIn();
      for (let tries = 0; login.status === 429 && tries < 3 && !this.halted; tries++) {
        await login.body?.cancel();
        await this.pause(1000 * Math.min(60, Number(login.headers.get('retry-after') ?? 10)) + 500);
        login = await logIn();
      }
      if (this.halted) return;
      const tokens = (await login.json()) as { accessToken: string; refreshToken: string };
      if (login.status !== 200) return this.note('login', login.status, tokens);
      await this.pause(200 + this.rnd() * 800);
      if (this.halted) return;
      const out = await this.unsent('logout', () => json(this.o.to, 'POST', '/api/v1/auth/logout', {}, tokens.accessToken));
      const outBody = await out.json();
      if (out.status !== 200) return this.note('logout', out.status, outBody);
      this.acks.revoked.push({ username, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
      await this.pause(6500 - (Date.now() - began));
    }
  }

  private async chain(): Promise<void> {
    while (!this.halted) {
      const r = await this.unsent('ledger status', () => json(this.o.to, 'GET', '/api/v1/ledger/status'));
      const s = (await r.json()) as { height: number; headHash: string };
      if (r.status === 200 && s.height > 0) this.acks.blocks[s.height] = s.headHash;
      await this.pause(700);
    }
  }

  private async pause(ms: number): Promise<void> {
    const until = Date.now() + Math.max(0, ms);
    while (!this.halted && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
  }
}

/** The connection closed before its TLS handshake finished (node:tls's message, bare or as fetch()'s cause). */
function handshakeNotDone(err: unknown): boolean {
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (/before secure TLS connection was established/.test(e.message ?? '')) return true;
  }
  return false;
}
