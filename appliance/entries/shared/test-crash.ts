// Test hook shared by the payout process and the OTA agent: `<variable>` (LUCID_PAYOUT_TEST_CRASH,
// LUCID_OTA_TEST_CRASH) names points, comma-separated, where the process SIGKILLs itself —
// exactly a kill -9 at that instruction, a moment no outside signal can hit reliably. Ignored
// when NODE_ENV is production (the image sets it).
import { writeSync } from 'node:fs';

export function crashHook(variable: string, name: string): ((point: string) => void) | undefined {
  const points = new Set((process.env[variable] ?? '').split(',').filter(Boolean));
  if (points.size === 0 || process.env['NODE_ENV'] === 'production') return undefined;
  return (point) => {
    if (!points.has(point)) return;
    // Written synchronously: pino's buffered line would die with the process.
    writeSync(2, `${JSON.stringify({ level: 'warn', name, point, msg: 'test crash point: SIGKILL' })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
