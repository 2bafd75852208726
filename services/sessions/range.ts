// HTTP Range (RFC 9110 §14) for content downloads: one `bytes=` range. A syntactically invalid or
// multi-range header is ignored (the whole content is served, as the RFC allows); a valid range
// that misses the content is unsatisfiable (416).
export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number } // end exclusive
  | { readonly kind: 'unsatisfiable' };

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

export function parseRange(header: string | undefined, total: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const m = SINGLE.exec(header);
  if (!m) return { kind: 'full' };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return { kind: 'full' };
  if (a.length > 15 || b.length > 15) return { kind: 'unsatisfiable' };
  if (a === '') {
    const n = Number(b);
    if (n === 0 || total === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, total - n), end: total };
  }
  const start = Number(a);
  const last = b === '' ? total - 1 : Number(b);
  if (b !== '' && last < start) return { kind: 'full' };
  if (start >= total) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, total - 1) + 1 };
}
