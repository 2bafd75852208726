import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE, LucidError } from '../../../services/common/errors.js';

const doc = readFileSync(join(__dirname, '../../../services/common/errors.md'), 'utf8');

describe('error catalogue', () => {
  it('every code follows <AREA>_ERR_<WHAT> and is documented with its HTTP status', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^[A-Z]+_ERR_[A-Z0-9_]+$/);
      expect(doc, `${code} is not documented in services/common/errors.md`).toMatch(new RegExp(`\\| \`${code}\` \\| ${entry.status} \\|`));
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/\| `([A-Z]+_ERR_[A-Z0-9_]+)` \|/g)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(ERROR_CATALOGUE)).toContain(code);
  });

  it('LucidError carries the catalogue status and serialises without a stack', () => {
    const err = new LucidError('API_ERR_NOT_FOUND', 'nope', { id: 'x' });
    expect(err.statusCode).toBe(404);
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'API_ERR_NOT_FOUND', message: 'nope', details: { id: 'x' } });
  });
});
