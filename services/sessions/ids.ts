// Session ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. They sort by
// creation time, so the store lists sessions newest-first by key order, with the id as cursor.
import { randomBytes } from 'node:crypto';

export const SESSION_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const ID_RE = new RegExp(SESSION_ID_PATTERN);

export function newSessionId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isSessionId(s: string): boolean {
  return ID_RE.test(s);
}
