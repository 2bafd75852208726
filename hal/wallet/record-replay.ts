// Record and replay APDU exchanges, in the text format of @ledgerhq/hw-transport-mocker's
// RecordStore (`=> e002…` command, `<= 0441…9000` answer, one per line), so fixtures recorded
// from a real Ledger can be replayed in CI. Replay is strict: a command that differs from the
// next recorded one fails with HAL_ERR_PROTOCOL naming the line — a driver that changes the
// bytes it sends breaks its test.
import { HalError } from '../errors.js';
import type { ApduTransport } from './types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function createRecordingTransport(inner: ApduTransport): ApduTransport & { text(): string } {
  const lines: string[] = [];
  return {
    id: inner.id,
    open: () => inner.open(),
    close: () => inner.close(),
    async exchange(apdu) {
      lines.push(`=> ${hex(apdu)}`);
      const answer = await inner.exchange(apdu);
      lines.push(`<= ${hex(answer)}`);
      return answer;
    },
    text: () => `${lines.join('\n')}\n`,
  };
}

export function createReplayTransport(recording: string, id = 'replay'): ApduTransport & { done(): boolean } {
  const lines = recording.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let i = 0;
  let open = false;
  return {
    id,
    async open() { open = true; },
    async close() { open = false; },
    async exchange(apdu) {
      if (!open) throw new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`);
      const want = lines[i];
      const got = `=> ${hex(apdu)}`;
      if (want !== got) throw new HalError('HAL_ERR_PROTOCOL', `replay line ${i + 1}: expected "${want ?? '(end)'}", got "${got}"`);
      const answer = lines[i + 1];
      if (!answer?.startsWith('<= ')) throw new HalError('HAL_ERR_PROTOCOL', `replay line ${i + 2}: no answer recorded`);
      i += 2;
      return Uint8Array.from(Buffer.from(answer.slice(3), 'hex'));
    },
    done: () => i >= lines.length,
  };
}
