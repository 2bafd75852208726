// Genesis CLI: makes the genesis document of a multi-node chain from the nodes' public keys.
//   ./build.sh genesis --chain-id lan-1 --validator <hex key>[:power] --data-dir /data/b[:power] \
//                      --node-url http://10.0.0.7:8080[:power] [--epoch-ms N] [--window-ms N] [--out genesis.json]
// A key comes as hex (GET /api/v1/node on each appliance shows it), from a data directory (its
// keys/node-ed25519.pem; nothing is created) or from a running appliance's URL. Copy the output
// to every node and point LUCID_GENESIS at it.
import { readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { makeGenesis, genesisHash, type GenesisValidator } from '../../services/ledger/index.js';
import { NODE_KEY_FILE } from '../../services/identity/index.js';

const USAGE = `usage: genesis --chain-id <id> (--validator <hex>[:power] | --data-dir <dir>[:power] | --node-url <url>[:power])... [--genesis-time <ms>] [--epoch-ms <ms>] [--window-ms <ms>] [--max-join-power <n>] [--payout-pool-usdt <n>] [--out <file>]`;

function fail(message: string): never {
  process.stderr.write(`genesis: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function splitPower(arg: string): [string, number] {
  const m = /^(.*?)(?::(\d+))?$/.exec(arg)!;
  const power = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isSafeInteger(power) || power < 1) fail(`bad power in ${arg}`);
  return [m[1]!, power];
}

// A validator's name is a label for people (≤ 64 characters in the genesis document); a long
// path or URL keeps its end, which is the part that tells nodes apart.
function validatorName(source: string): string {
  return source.length <= 64 ? source : `…${source.slice(-63)}`;
}

function keyFromDataDir(dir: string): string {
  let pem: string;
  try {
    pem = readFileSync(join(dir, NODE_KEY_FILE), 'utf8');
  } catch (err) {
    fail(`cannot read ${join(dir, NODE_KEY_FILE)}: ${(err as Error).message} (start the appliance once to make its key)`);
  }
  const jwk = createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url').toString('hex');
}

async function keyFromUrl(url: string): Promise<string> {
  const res = await fetch(new URL('/api/v1/node', url));
  if (!res.ok) fail(`${url}/api/v1/node answered ${res.status}`);
  const body = (await res.json()) as { publicKey?: string };
  if (typeof body.publicKey !== 'string') fail(`${url}/api/v1/node has no publicKey`);
  return body.publicKey;
}

async function main(argv: string[]): Promise<void> {
  let chainId: string | null = null;
  let out: string | null = null;
  let genesisTime: number | undefined;
  const params: Record<string, number> = {};
  const validators: GenesisValidator[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => argv[++i] ?? fail(`${flag} needs a value`);
    const num = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 1) fail(`${flag} needs a positive integer`);
      return v;
    };
    switch (flag) {
      case '--chain-id': chainId = value(); break;
      case '--out': out = value(); break;
      case '--genesis-time': genesisTime = num(); break;
      case '--epoch-ms': params['epochMs'] = num(); break;
      case '--window-ms': params['windowMs'] = num(); break;
      case '--max-join-power': params['maxJoinPower'] = num(); break;
      // The payout pool every validator states each epoch from (services/ledger README "Payout statements").
      case '--payout-pool-usdt': params['payoutPool'] = num() * 1_000_000; break;
      case '--validator': { const [k, power] = splitPower(value()); validators.push({ publicKey: k.toLowerCase(), power }); break; }
      case '--data-dir': { const [d, power] = splitPower(value()); validators.push({ publicKey: keyFromDataDir(d), power, name: validatorName(d) }); break; }
      case '--node-url': {
        const raw = value();
        const m = /^(.*?)(?::(\d+))?$/.exec(raw)!;
        // http://host:8080 ends in a port, not a power: only a third ":" is a power.
        const [url, power] = (raw.match(/:/g)?.length ?? 0) >= 3 ? [m[1]!, Number(m[2])] : [raw, 1];
        validators.push({ publicKey: await keyFromUrl(url), power, name: validatorName(url) });
        break;
      }
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); return;
      default: fail(`unknown argument ${flag}`);
    }
  }
  if (!chainId) fail('--chain-id is required');
  if (validators.length === 0) fail('at least one validator is required');
  let genesis;
  try {
    genesis = makeGenesis({ chainId: chainId!, genesisTime, validators, params });
  } catch (err) {
    fail((err as Error).message);
  }
  const text = `${JSON.stringify(genesis, null, 2)}\n`;
  if (out) {
    writeFileSync(out, text, { mode: 0o644 });
    process.stderr.write(`genesis: wrote ${out} (chain ${genesis!.chainId}, ${validators.length} validators, hash ${genesisHash(genesis!).toString('hex')})\n`);
  } else {
    process.stdout.write(text);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail((err as Error).message));
