// One operation at a time per session (upload, finalize, delete, verify-while-writing). A waiter
// gives up after `timeoutMs` with SESS_ERR_BUSY: a resumed upload arriving while the server is
// still winding down the broken one waits for it instead of failing at once.
import { LucidError } from '../common/errors.js';

interface Entry { tail: Promise<void>; holders: number }

export class SessionLocks {
  private readonly locks = new Map<string, Entry>();

  async acquire(id: string, timeoutMs: number): Promise<() => void> {
    const entry = this.locks.get(id) ?? { tail: Promise.resolve(), holders: 0 };
    this.locks.set(id, entry);
    entry.holders++;
    const previous = entry.tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    entry.tail = previous.then(() => mine);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const gotIt = await Promise.race([
      previous.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { timedOut = true; resolve(false); }, timeoutMs); }),
    ]);
    clearTimeout(timer);
    const done = (): void => {
      release();
      if (--entry.holders === 0 && this.locks.get(id) === entry) this.locks.delete(id);
    };
    if (!gotIt || timedOut) {
      // Still queued: pass the turn on as soon as it comes, without doing anything.
      void previous.then(done);
      throw new LucidError('SESS_ERR_BUSY', 'another operation on this session is still running', { sessionId: id });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      done();
    };
  }

  isBusy(id: string): boolean {
    return (this.locks.get(id)?.holders ?? 0) > 0;
  }
}
