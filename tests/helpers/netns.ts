// A second host on this machine: a network namespace joined to ours by a veth pair, each end
// with its own address. Traffic between them crosses the kernel's network stack as it would
// between two machines on a LAN (an address that is not loopback on both sides), which is what
// the plain-HTTP rule and the network benchmark need. Needs root (the suite runs as root; build.sh
// installs iproute2). Names and a /30 are chosen at random, so parallel runs do not collide.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns {
  readonly name: string;
  /** Our end (the default namespace). */
  readonly hostAddress: string;
  /** The namespace's end. */
  readonly nsAddress: string;
  /** The namespace's veth interface (this kernel has no dummy interfaces: add addresses here). */
  readonly nsInterface: string;
  /** Prefix to run a command inside: `ip netns exec <name>`. */
  readonly exec: readonly string[];
  /** Runs `ip …` inside the namespace. */
  ip(...args: string[]): string;
  destroy(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function takenPrefixes(): Set<string> {
  const taken = new Set<string>();
  for (const m of ip('-4', '-o', 'addr').matchAll(/inet (\d+\.\d+\.\d+)\.\d+/g)) taken.add(m[1]!);
  return taken;
}

export function createNetns(): Netns {
  const id = randomBytes(3).toString('hex');
  const name = `lucid-t-${id}`;
  const hostIf = `lvh${id}`;
  const nsIf = `lvn${id}`;
  const taken = takenPrefixes();
  let prefix = '';
  for (let i = 0; i < 50 && (!prefix || taken.has(prefix)); i++) prefix = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}`;
  const base = (randomBytes(1)[0]! % 60) * 4;
  const hostAddress = `${prefix}.${base + 1}`;
  const nsAddress = `${prefix}.${base + 2}`;
  const inNs = (...args: string[]): string => ip('netns', 'exec', name, 'ip', ...args);
  ip('netns', 'add', name);
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    inNs('addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    inNs('link', 'set', nsIf, 'up');
    inNs('link', 'set', 'lo', 'up');
  } catch (err) {
    try { ip('netns', 'del', name); } catch { /* best effort */ }
    try { ip('link', 'del', hostIf); } catch { /* gone with the namespace */ }
    throw err;
  }
  return {
    name,
    hostAddress,
    nsAddress,
    nsInterface: nsIf,
    exec: ['ip', 'netns', 'exec', name],
    ip: inNs,
    destroy() {
      try { ip('netns', 'del', name); } catch { /* already gone */ }
      try { ip('link', 'del', hostIf); } catch { /* deleted with its peer */ }
    },
  };
}
