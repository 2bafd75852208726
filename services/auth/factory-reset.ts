// The factory reset, core's half (the supervisor's half is appliance/supervisor/factory-reset.ts):
// performed at core's start, before the API listens, when `<data>/factory-reset` is present.
// It serves an operator who has lost every admin login; it must never silently destroy what
// others rely on. appliance/README.md "Factory reset" is the user-facing list.
//   erased: every user (and its wallet links and lockout state), every login session (so every
//           access, refresh and download token), the JWT signing key (a new one is made, so no
//           token ever issued verifies again, even restored from a backup), pending two-person
//           requests (approvals.ts: their requesters are gone);
//   made:   a new one-time setup code (log and <data>/setup-code), as on first boot;
//   kept:   the node key (the validator identity other nodes know), the master key (it wraps
//           every session's data key), sessions, chunks, manifests and their anchors, chain
//           data and the double-sign guard, the audit log (which records the reset), emergency
//           switches in force (they expire by themselves; a new admin can lift a lockdown), and
//           configuration.
// Every step is idempotent and the marker goes last, so a power cut mid-way is finished by the
// next start.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../common/errors.js';
import { fsyncDir } from '../common/fs-atomic.js';
import type { Logger } from '../common/log.js';
import { clearResetMarker, readResetMarker, type ResetRequest } from '../common/reset-marker.js';
import type { Store } from '../store/index.js';
import type { AuditLog } from './audit.js';
import { JWT_KEY_FILE } from './jwt.js';
import type { SetupCode } from './setup-code.js';

export const FACTORY_RESET_ACTION = 'appliance.factory-reset';

const ERASED_SUBLEVELS = ['auth-users', 'auth-names', 'auth-wallets', 'auth-families', 'auth-approvals'] as const;

/**
 * Before core loads its JWT key: the pending reset request, if any, with the JWT key file
 * already removed so that loading makes a new one.
 */
export async function prepareFactoryReset(dataDir: string, log: Logger): Promise<ResetRequest | null> {
  const request = await readResetMarker(dataDir);
  if (!request) return null;
  log.warn({ request }, 'FACTORY RESET pending: erasing users, login sessions and the JWT key before start');
  try {
    await unlink(join(dataDir, JWT_KEY_FILE));
    await fsyncDir(join(dataDir, JWT_KEY_FILE, '..'));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  return request;
}

export interface ResetParts {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly setupCode: SetupCode;
  readonly dataDir: string;
  readonly log: Logger;
}

/** Erases the credentials, audits it, and removes the marker. Runs inside AuthService.start(). */
export async function performFactoryReset(parts: ResetParts, request: ResetRequest): Promise<{ users: number; loginSessions: number }> {
  const counts: Record<string, number> = {};
  const dels: Array<{ type: 'del'; key: string; sublevel: unknown }> = [];
  for (const name of ERASED_SUBLEVELS) {
    const sub = parts.store.sublevel(name, 'utf8');
    let n = 0;
    for await (const key of sub.keys()) {
      dels.push({ type: 'del', key, sublevel: sub });
      n++;
    }
    counts[name] = n;
  }
  const emergency = parts.store.sublevel<{ requests?: unknown[] }>('auth-emergency');
  const state = await emergency.get('state');
  const result = { users: counts['auth-users'] ?? 0, loginSessions: counts['auth-families'] ?? 0 };
  // Audited first, with what is about to go: a power cut after this line repeats the reset (and
  // its entry, which then counts zero) rather than losing the record of it.
  await parts.audit.append({
    actor: null, action: FACTORY_RESET_ACTION, target: null, ip: null, outcome: 'success',
    details: {
      via: request.via, armedAt: request.armedAt, confirmedAt: request.confirmedAt,
      usersErased: result.users, loginSessionsEnded: result.loginSessions, pendingRequestsDropped: (counts['auth-approvals'] ?? 0) + (state?.requests?.length ?? 0),
      kept: ['node key', 'master key', 'sessions', 'chain data', 'audit log', 'emergency switches', 'configuration'],
    },
  });
  const batch = parts.store.batch();
  for (const d of dels) batch.del(d.key, { sublevel: d.sublevel as never });
  if (state && (state.requests?.length ?? 0) > 0) batch.put('state', { ...state, requests: [] } as never, { sublevel: emergency as never });
  // Synced: this also makes the audit entry above durable (LevelDB's log is sequential).
  await batch.write({ sync: true });
  await parts.setupCode.burn(); // start() makes a fresh one: there are no users now
  await clearResetMarker(parts.dataDir);
  parts.log.warn({ ...result }, 'FACTORY RESET done: create the first admin again with the new setup code');
  return result;
}
