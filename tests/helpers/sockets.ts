// Which descriptors of a process point at a TCP listening socket (Linux /proc).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The inode of the socket listening on 127.0.0.1:`port` (or any address), from /proc/net/tcp. */
export function listeningInode(port: number): string {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A') return f[9]!;
  }
  throw new Error(`no socket listens on port ${port}`);
}

/** How many of `pid`'s descriptors are that socket. */
export function descriptorsOf(pid: number | 'self', inode: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}
