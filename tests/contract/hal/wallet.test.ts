// Runs the wallet contract against the simulated Ledger (through the real HID framing and
// transport), pins the APDU bytes to what @ledgerhq/hw-app-trx sends, and replays a committed
// recording strictly. With LUCID_HAL_TEST_LEDGER=1 it also runs against a real Ledger over USB.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRON_PATH, createHidTransport, createLedgerTronWallet, createRecordingTransport, createReplayTransport,
  createSimLedger, createUsbLedgerDevice, frame, getAddressApdu, signPersonalMessageApdus, signTransactionApdus, Unframer,
} from '../../../hal/index.js';
import TransportModule from '@ledgerhq/hw-transport';
import TrxModule from '@ledgerhq/hw-app-trx';
import { recoverTip191Address } from '../../../services/auth/index.js';
import { ROOT } from '../../helpers/appliance.js';
import { describeWalletContract, RAW_TRANSFER, RAW_WITH_MEMO, txSigner } from './wallet-contract.js';

// CJS packages: the class is `default` of the module object under ESM interop.
const Transport = ((TransportModule as unknown as { default?: unknown }).default ?? TransportModule) as new () => { exchange(apdu: Buffer): Promise<Buffer> };
const Trx = ((TrxModule as unknown as { default?: unknown }).default ?? TrxModule) as new (t: unknown) => { signTransaction(path: string, rawHex: string, tokens: string[]): Promise<string> };

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const FIXTURE = join(ROOT, 'tests/fixtures/wallet/sim-ledger.apdu');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describeWalletContract('simulated Ledger over HID framing', async () => {
  const device = createSimLedger({ seed: SEED });
  return { driver: createLedgerTronWallet({ transport: createHidTransport({ device }) }), rejectNext: () => device.rejectNext() };
});

if (process.env['LUCID_HAL_TEST_LEDGER'] === '1') {
  describeWalletContract('real Ledger over USB (confirm or reject on the device as asked)', async () => ({
    driver: createLedgerTronWallet({ transport: createHidTransport({ device: createUsbLedgerDevice() }) }),
    rejectNext: () => console.log('>>> press REJECT on the Ledger for the next message'),
  }));
}

describe('Ledger TRON APDUs and framing', () => {
  it('sends exactly the bytes @ledgerhq/hw-app-trx sends for getAddress', () => {
    expect(Buffer.from(getAddressApdu(DEFAULT_TRON_PATH)).toString('hex')).toBe('e002000015058000002c800000c3800000000000000000000000');
  });

  it('chunks a personal message: path ‖ BE length first (P1 00), then P1 80 chunks of ≤ 255 bytes', () => {
    const chunks = signPersonalMessageApdus(DEFAULT_TRON_PATH, new Uint8Array(600).fill(0x61));
    expect(chunks.map((c) => [c[1], c[2], c[4]])).toEqual([[0x08, 0x00, 255], [0x08, 0x80, 255], [0x08, 0x80, 600 - 230 - 255]]);
    expect(Buffer.from(chunks[0]!.subarray(5, 30)).toString('hex')).toBe('058000002c800000c3800000000000000000000000' + '00000258');
  });

  it('sends exactly the SIGN (E0 04) APDUs @ledgerhq/hw-app-trx sends, and gets the same signature', async () => {
    for (const rawHex of [RAW_TRANSFER, RAW_WITH_MEMO]) {
      const raw = Uint8Array.from(Buffer.from(rawHex, 'hex'));
      // Reference: Ledger's own app library driving the simulated device.
      const refDevice = createSimLedger({ seed: SEED });
      const refTransport = createHidTransport({ device: refDevice });
      await refTransport.open();
      class SimTransport extends Transport {
        override async exchange(apdu: Buffer): Promise<Buffer> { return Buffer.from(await refTransport.exchange(apdu)); }
      }
      const refSig = await new Trx(new SimTransport()).signTransaction("44'/195'/0'/0/0", rawHex, []);
      // Ours, on a fresh device with the same seed.
      const device = createSimLedger({ seed: SEED });
      const driver = createLedgerTronWallet({ transport: createHidTransport({ device }) });
      await driver.open();
      const sig = await driver.signTransaction(DEFAULT_TRON_PATH, raw);
      expect(device.apdus.filter((a) => a.startsWith('e004'))).toEqual(refDevice.apdus.filter((a) => a.startsWith('e004')));
      expect(Buffer.from(sig).toString('hex')).toBe(refSig);
      expect(txSigner(raw, sig)).toBe((await driver.getAddress()).address);
      expect(device.shownTransactions).toEqual([rawHex]);
    }
  });

  it('streams raw_data in field-aligned chunks of ≤ 250 bytes: P1 10 alone, else 00, 80…, 90', () => {
    const one = signTransactionApdus(DEFAULT_TRON_PATH, Buffer.from(RAW_TRANSFER, 'hex'));
    expect(one.map((c) => c[2])).toEqual([0x10]);
    const many = signTransactionApdus(DEFAULT_TRON_PATH, Buffer.from(RAW_WITH_MEMO, 'hex'));
    expect(many.map((c) => c[2])).toEqual([0x00, 0x90]);
    expect(many.every((c) => c[4]! <= 250)).toBe(true);
    const body = Buffer.concat(many.map((c) => c.subarray(5))).subarray(21);
    expect(body.toString('hex')).toBe(RAW_WITH_MEMO);
    expect(() => signTransactionApdus(DEFAULT_TRON_PATH, Buffer.from('52ff01', 'hex'))).toThrow(/past the end/);
    expect(() => signTransactionApdus(DEFAULT_TRON_PATH, Buffer.from('0d00000000', 'hex'))).toThrow(/wire type 5/);
  });

  it('frames an APDU into 64-byte reports (channel 0101, tag 05, sequence) and back', () => {
    const apdu = new Uint8Array(130).map((_, i) => i);
    const reports = frame(apdu);
    expect(reports).toHaveLength(3);
    expect(Buffer.from(reports[0]!.subarray(0, 7)).toString('hex')).toBe('0101050000' + '0082');
    expect(Buffer.from(reports[1]!.subarray(0, 5)).toString('hex')).toBe('0101050001');
    expect(reports.every((r) => r.length === 64)).toBe(true);
    const u = new Unframer();
    expect(u.push(reports[0]!)).toBeNull();
    expect(u.push(reports[1]!)).toBeNull();
    expect(u.push(reports[2]!)).toEqual(apdu);
    expect(() => new Unframer().push(reports[1]!)).toThrow(/sequence/);
  });
});

describe('record and replay', () => {
  async function script(driver: ReturnType<typeof createLedgerTronWallet>, reject: () => void): Promise<string[]> {
    await driver.open();
    const out: string[] = [(await driver.getAppConfiguration()).version, (await driver.getAddress()).address];
    out.push(Buffer.from(await driver.signPersonalMessage(DEFAULT_TRON_PATH, utf8('replay me'))).toString('hex'));
    reject();
    await driver.signPersonalMessage(DEFAULT_TRON_PATH, utf8('no')).catch((e: { code: string }) => out.push(e.code));
    await driver.close();
    return out;
  }

  it('a recording of the simulated Ledger equals the committed fixture and replays strictly', async () => {
    const device = createSimLedger({ seed: SEED });
    const recorder = createRecordingTransport(createHidTransport({ device }));
    const live = await script(createLedgerTronWallet({ transport: recorder }), () => device.rejectNext());
    if (process.env['LUCID_UPDATE_FIXTURES'] === '1') writeFileSync(FIXTURE, `# sim Ledger, seed 01..20: getAppConfiguration, getAddress, sign "replay me", refused sign\n${recorder.text()}`);
    const fixture = readFileSync(FIXTURE, 'utf8');
    expect(fixture).toContain(recorder.text());

    const replay = createReplayTransport(fixture);
    expect(await script(createLedgerTronWallet({ transport: replay }), () => {})).toEqual(live);
    expect(replay.done()).toBe(true);
    expect(live[3]).toBe('HAL_ERR_REJECTED');
    expect(recoverTip191Address('replay me', Uint8Array.from(Buffer.from(live[2]!, 'hex')))).toBe(live[1]);

    const strict = createReplayTransport(fixture);
    const driver = createLedgerTronWallet({ transport: strict });
    await driver.open();
    await expect(driver.getAddress()).rejects.toMatchObject({ code: 'HAL_ERR_PROTOCOL', message: expect.stringMatching(/replay line 1/) });
  });
});
