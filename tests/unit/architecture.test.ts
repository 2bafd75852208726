// The import rules of DESIGN §3, checked on every source file.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, findCycle, importsOf, sourceFiles, type ImportEdge } from '../helpers/imports.js';

const files = sourceFiles(['appliance', 'hal', 'services', 'ota']);
const edges = files.flatMap(importsOf);
const TRON = /^(tronweb|@ledgerhq\/hw-app-trx|@ledgerhq\/hw-transport.*)$/;
/** Pure HAL modules (no I/O, no imports of ours) anyone may use: the web UI animating the LED, TRON addresses. */
const PURE_HAL = new Set(['hal/leds/patterns.ts', 'hal/wallet/tron-address.ts']);

const area = (path: string): string => {
  const [top, second] = path.split('/');
  return top === 'services' ? `services/${second}` : top === 'appliance' && second === 'entries' ? 'appliance/entries' : (top ?? '');
};
const violations = (pred: (e: ImportEdge) => string | null): string[] =>
  edges.map((e) => { const why = pred(e); return why ? `${e.from} → ${e.specifier}: ${why}` : null; }).filter((v): v is string => v !== null);

describe('architecture (DESIGN §3)', () => {
  it('scans the real tree', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(files).toContain('appliance/entries/core.ts');
    expect(edges.some((e) => e.typeOnly)).toBe(true);
  });

  it('hal/ and services/common/ import nothing of ours outside themselves', () => {
    expect(violations((e) => {
      if (!e.target) return null;
      if (e.from.startsWith('hal/') && !e.target.startsWith('hal/')) return 'hal/ must not import outside hal/';
      if (e.from.startsWith('services/common/') && !e.target.startsWith('services/common/')) return 'services/common/ must not import outside itself';
      return null;
    })).toEqual([]);
  });

  it('services reach each other only through index.ts', () => {
    expect(violations((e) => {
      if (!e.target || !e.from.startsWith('services/') || !e.target.startsWith('services/')) return null;
      const [, from] = e.from.split('/');
      const [, to] = e.target.split('/');
      if (from === to || to === 'common') return null;
      return e.target === `services/${to}/index.ts` ? null : `import services/${to}/index.ts instead`;
    })).toEqual([]);
  });

  it('only appliance/entries import concrete drivers and services', () => {
    expect(violations((e) => {
      if (!e.target || e.typeOnly) return null;
      const from = area(e.from);
      if (from === 'appliance/entries') return null;
      if (e.target.startsWith('hal/') && !e.from.startsWith('hal/') && !PURE_HAL.has(e.target)) {
        return 'only appliance/entries may use HAL drivers (import type is fine)';
      }
      if (e.from.startsWith('appliance/') && e.target.startsWith('services/') && !e.target.startsWith('services/common/')) {
        return 'the supervisor never imports service code';
      }
      if (e.from.startsWith('ota/client/') && e.target.startsWith('services/') && !e.target.startsWith('services/common/')) {
        return 'the OTA agent does not import services';
      }
      return null;
    })).toEqual([]);
  });

  it('nothing outside services/payout/ imports TRON code', () => {
    expect(violations((e) => (TRON.test(e.specifier) && !e.from.startsWith('services/payout/') ? 'TRON code only in services/payout/' : null))).toEqual([]);
  });

  it('core never loads TRON code: nothing reachable from services/payout/index.ts or from core/supervisor entries imports it', () => {
    const out = new Map<string, string[]>();
    for (const e of edges) if (e.target && !e.typeOnly) out.set(e.from, [...(out.get(e.from) ?? []), e.target]);
    const reach = (start: string): Set<string> => {
      const seen = new Set<string>();
      const todo = [start];
      while (todo.length > 0) {
        const f = todo.pop()!;
        if (seen.has(f)) continue;
        seen.add(f);
        todo.push(...(out.get(f) ?? []));
      }
      return seen;
    };
    const payoutOnly = ['services/payout/tron/builder.ts', 'services/payout/process.ts', 'services/payout/engine.ts', 'services/payout/service.ts'];
    for (const start of ['services/payout/index.ts', 'appliance/entries/core.ts', 'appliance/entries/supervisor.ts']) {
      const closure = reach(start);
      expect(edges.filter((e) => closure.has(e.from) && TRON.test(e.specifier)).map((e) => e.from), start).toEqual([]);
      for (const f of payoutOnly) expect(closure.has(f), `${start} reaches ${f}`).toBe(false);
    }
    // The check can fail: the payout entry does reach tronweb.
    expect(edges.some((e) => reach('appliance/entries/payout.ts').has(e.from) && TRON.test(e.specifier))).toBe(true);
  });

  it('ota/server/ never imports hal/ or appliance/', () => {
    expect(violations((e) => (e.from.startsWith('ota/server/') && e.target && /^(hal|appliance)\//.test(e.target) ? 'fleet server runs off-device' : null))).toEqual([]);
  });

  it('every relative import resolves to a file', () => {
    expect(violations((e) => (e.target && !existsSync(join(REPO, e.target)) ? 'missing file' : null))).toEqual([]);
  });

  it('the pure HAL modules really are pure: nothing of ours, no I/O (node:crypto hashing and @noble only)', () => {
    const allowed = /^(node:crypto|@noble\/curves\/secp256k1\.js|@noble\/hashes\/sha3\.js)$/;
    for (const file of PURE_HAL) expect(importsOf(file).map((e) => e.specifier).filter((s) => !allowed.test(s))).toEqual([]);
    expect(importsOf('hal/leds/patterns.ts')).toEqual([]); // the web UI bundles it for the browser
  });

  it('has no import cycles', () => {
    expect(findCycle(edges)).toBeNull();
  });

  it('the checker itself catches a violation and a cycle', () => {
    const fake: ImportEdge[] = [
      { from: 'a.ts', specifier: './b.js', target: 'b.ts', typeOnly: false, dynamic: false },
      { from: 'b.ts', specifier: './a.js', target: 'a.ts', typeOnly: false, dynamic: false },
    ];
    expect(findCycle(fake)).toEqual(['a.ts', 'b.ts', 'a.ts']);
    expect(findCycle([{ ...fake[0]! }, { ...fake[1]!, typeOnly: true }])).toBeNull();
    expect(importsOf('tests/fixtures/architecture/bad-import.ts').map((e) => [e.specifier, e.typeOnly, e.dynamic])).toEqual([
      ['../../../hal/index.js', true, false], ['tronweb', false, false], ['../../../services/api/server.js', false, true],
    ]);
  });
});
