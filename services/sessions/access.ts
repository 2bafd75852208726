// The ownership rule applied to a session: the record if the caller may see it, otherwise
// SESS_ERR_NOT_FOUND (404, not 403: another user's session ids do not leak).
import type { FastifyRequest } from 'fastify';
import { LucidError } from '../common/errors.js';
import { canAccessOwned } from '../api/index.js';
import type { SessionRecord } from './records.js';
import type { SessionService } from './service.js';

export async function ownedSession(service: SessionService, request: FastifyRequest, id: string): Promise<SessionRecord> {
  const rec = await service.get(id);
  if (!canAccessOwned(request.principal, rec.owner)) throw new LucidError('SESS_ERR_NOT_FOUND', `no session ${id}`, { sessionId: id });
  return rec;
}
