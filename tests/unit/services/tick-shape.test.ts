// The nextTick shape pin (services/common/tick-shape.ts), in a real child process with V8's
// natives syntax: after full GCs run with an empty tick queue, fresh tick entries still have
// the pinned entries' maps, so the maps V8's feedback points at are never collected.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../../services/common/tick-shape.ts', import.meta.url));

function run(pin: boolean): { pinned: number; shapes: string[]; same0: boolean | null; same1: boolean | null } {
  const script = `
    import { executionAsyncResource } from 'node:async_hooks';
    const { pinNextTickShape, pinnedTickEntries } = await import(${JSON.stringify(MODULE)});
    if (${pin}) { await pinNextTickShape(); await pinNextTickShape(); }
    const entry = (...args) => new Promise((r) => process.nextTick(() => r(executionAsyncResource()), ...args));
    for (let i = 0; i < 2000; i++) { await entry(); await entry(i); }
    for (let k = 0; k < 4; k++) { await new Promise((r) => setTimeout(r, 5)); globalThis.gc(); }
    const a = await entry(), b = await entry(1);
    const p = pinnedTickEntries();
    console.log(JSON.stringify({
      pinned: p.length,
      shapes: p.map((o) => Object.getOwnPropertySymbols(o).length + ':' + Object.keys(o).join('/')),
      same0: p[0] ? %HaveSameMap(p[0], a) : null,
      same1: p[1] ? %HaveSameMap(p[1], b) : null,
    }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('pinNextTickShape', () => {
  it('holds one tick entry without and one with arguments, whose maps survive full GCs', () => {
    const out = run(true);
    expect(out.pinned).toBe(2); // idempotent: the second call pins nothing more
    // Node 20 keys an entry with two symbols (async ids); Node 24 adds its async context frame.
    expect(out.shapes[0]).toMatch(/^[23]:callback\/args$/);
    expect(out.shapes[1]).toBe(out.shapes[0]);
    expect(out.same0).toBe(true);
    expect(out.same1).toBe(true);
  });

  it('holds nothing until called', () => {
    expect(run(false).pinned).toBe(0);
  });
});
