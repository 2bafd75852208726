// Node-operator users and access tokens for the API bench (node_operator: the highest role one
// admin may grant alone; admin grants take a second admin, services/auth/README.md). Logins are limited to 10 per minute per IP,
// so they come from many loopback source addresses (127.0.0.x): run on the appliance's own
// loopback, even when the load then comes over the network (`ip netns exec <ns> … _api-tokens.ts`
// for the veth path). Plain HTTP on loopback serves everything, and tokens are bound to the user
// agent, not the address, so they work from anywhere.
//   node --import tsx tests/bench/_api-tokens.ts <http url on loopback> <data dir> <count> <tag>  → JSON
import { request as httpRequest } from 'node:http';
import { adminToken } from '../helpers/appliance.js';

export const BENCH_UA = 'lucid-bench';
/** Its tier allows RATE_LIMITS.node_operator (5,000) requests per minute per user. */
export const BENCH_ROLE = 'node_operator';

/** POST JSON from a chosen loopback source address (global fetch cannot pick one). */
function postFrom(localAddress: string, url: string, body: object): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'user-agent': BENCH_UA } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** `count` fresh node_operator users and one access token each (logins spread over 127.0.0.x sources: 10 logins/min per IP). */
export async function adminTokens(url: string, root: string, count: number, tag: string): Promise<string[]> {
  const password = 'bench-harbor-31-lantern';
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const username = `bench-${tag}-${i}`;
    const created = await fetch(`${url}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${root}` }, body: JSON.stringify({ username, password, role: BENCH_ROLE }) });
    if (created.status !== 201) throw new Error(`create ${username}: ${created.status} ${await created.text()}`);
    // Each set of users logs in from its own 30 addresses (tag a: 127.0.0.10…, b: …40…, …, e: …130…;
    // up to 270 users a set, 9 logins per address and minute).
    const set = Math.max(0, 'abcdefg'.indexOf(tag));
    if (tokens.length >= 270) throw new Error('at most 270 bench users per set (login limit per address)');
    const res = await postFrom(`127.0.0.${10 + 30 * set + Math.floor(tokens.length / 9)}`, `${url}/api/v1/auth/login`, { username, password });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.body}`);
    tokens.push((JSON.parse(res.body) as { accessToken: string }).accessToken);
  }
  return tokens;
}

/** One set of `count` tokens per tag (a, b, c, d): each set serves one run (transport × connections). */
export async function benchTokens(url: string, dataDir: string, count: number, tags: readonly string[]): Promise<string[][]> {
  const root = await adminToken(url, dataDir);
  const sets: string[][] = [];
  for (const tag of tags) sets.push(await adminTokens(url, root, count, tag));
  return sets;
}

if (process.argv[1]?.endsWith('_api-tokens.ts')) {
  const [url, dataDir, count, tags] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await benchTokens(url!, dataDir!, Number(count), tags!.split(','))));
}
