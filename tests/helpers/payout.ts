// Runs the real payout process (dist/entries/payout.mjs) against the TRON node double, and plays
// the admins: their wallets (TIP-191 keys), the keystore passphrase, enrollment and address
// registration through the protocol, exactly as core would send them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ROOT } from './appliance.js';
import { PayoutClient } from '../../services/payout/index.js';
import { addressOfPrivateKey } from '../../services/payout/tron/address.js';
import { tip191Sign } from '../../services/payout/tron/tip191.js';

export const PAYOUT_ENTRY = join(ROOT, 'dist/entries/payout.mjs');
export const PASSPHRASE = 'correct horse battery staple 23';

export interface Wallet { readonly key: Uint8Array; readonly address: string; sign(text: string): string }

/** A deterministic TRON wallet (an admin's, or an operator's receiving address). */
export function wallet(n: number): Wallet {
  const key = Uint8Array.from(Buffer.alloc(32, 0)).map((_, i) => (i === 31 ? n : i === 0 ? 0x5a : 0));
  if (!secp256k1.utils.isValidSecretKey(key)) throw new Error('bad test key');
  return { key, address: addressOfPrivateKey(key), sign: (text) => tip191Sign(text, key) };
}

export const operatorId = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

export interface PayoutProcess {
  readonly dataDir: string;
  readonly socket: string;
  readonly client: PayoutClient;
  child: ChildProcess;
  output(): string;
  /** Waits for the process to exit (e.g. after a crash point). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts it again on the same data (a restart after a crash). */
  restart(env?: Record<string, string>): Promise<void>;
  kill(): Promise<void>;
}

export interface PayoutStartOptions {
  readonly tronUrl: string;
  readonly env?: Record<string, string>;
  readonly dataDir?: string;
  /** Extra node options (e.g. the permission flags the supervisor gives it). */
  readonly nodeArgs?: readonly string[];
}

export async function startPayout(options: PayoutStartOptions): Promise<PayoutProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-pay-'));
  const socket = join(dataDir, 'sockets', 'payout.sock');
  let out = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  const baseEnv = {
    ...process.env,
    LUCID_PROFILE: 'dev', LUCID_HAL: 'sim', LUCID_DATA_DIR: dataDir, LUCID_TRON_URL: options.tronUrl,
    LUCID_PAYOUT_POLL_MS: '50', LUCID_LOG_LEVEL: 'info', LUCID_PAYOUT_TEST_CRASH: '',
    ...options.env,
  };
  const client = new PayoutClient({ socketPath: socket, timeoutMs: 20_000 });
  const launch = async (env: Record<string, string>): Promise<ChildProcess> => {
    // An IPC channel, as under the supervisor: the process exits when the test process goes (no orphans).
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), PAYOUT_ENTRY], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    child.on('message', () => undefined);
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const until = Date.now() + 20_000;
    let gone = false;
    void exit.then(() => { gone = true; });
    // Ready = it answers on its socket (whatever the log level).
    for (;;) {
      if (gone) throw new Error(`payout process exited before it was ready:\n${out.slice(-3000)}`);
      if (Date.now() > until) throw new Error(`payout process not ready in 20 s:\n${out.slice(-3000)}`);
      if (existsSync(socket)) {
        try {
          await client.call('status', {}, 5000);
          break;
        } catch { client.close(); }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return child;
  };
  const p: PayoutProcess = {
    dataDir, socket, client,
    child: await launch({}),
    output: () => out,
    exited: () => exit,
    async restart(env = {}) {
      client.close();
      p.child = await launch(env);
    },
    async kill() {
      client.close();
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await exit;
      }
    },
  };
  return p;
}

/** Admin wallets 1 and 2 enrolled as approvers; the keystore made and unlocked. */
export async function setupWallet(p: PayoutProcess, approvers: readonly Wallet[] = [wallet(1), wallet(2)]): Promise<string> {
  const { address } = await p.client.call('keystore.create', { passphrase: PASSPHRASE }) as { address: string };
  await p.client.call('keystore.unlock', { passphrase: PASSPHRASE });
  const enrolled: Wallet[] = [];
  for (const [i, a] of approvers.entries()) {
    const { text, version } = await p.client.call('approver.text', { approver: a.address, name: `admin-${i + 1}` }) as { text: string; version: number };
    const signatures = [a.sign(text), ...enrolled.slice(0, 2).map((e) => e.sign(text))];
    await p.client.call('approver.enroll', { approver: a.address, name: `admin-${i + 1}`, version, signatures });
    enrolled.push(a);
  }
  return address;
}

/** Registers `to` as the operator's payout address, signed by two approvers. */
export async function registerAddress(p: PayoutProcess, operator: string, to: string, signers: readonly Wallet[] = [wallet(1), wallet(2)]): Promise<void> {
  const { text, version } = await p.client.call('address.text', { operator, to }) as { text: string; version: number };
  await p.client.call('address.change', { operator, to, version, signatures: signers.map((s) => s.sign(text)) });
}

/** Approves a payout with the given approvers' signatures over the text the process names. */
export async function approve(p: PayoutProcess, id: string, signers: readonly Wallet[]): Promise<unknown> {
  const { text } = await p.client.call('payout.approvalText', { id }) as { text: string };
  return p.client.call('payout.approve', { id, signatures: signers.map((s) => s.sign(text)) });
}

export interface PayoutView { id: string; state: string; amount: string; recipient: string; attempts: Array<{ txid: string; outcome?: string; signature?: string }>; failure?: { code: string }; lastError: { code: string } | null }

export async function payouts(p: PayoutProcess): Promise<PayoutView[]> {
  return await p.client.call('payout.list', {}) as PayoutView[];
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const socketExists = (p: PayoutProcess): boolean => existsSync(p.socket);
