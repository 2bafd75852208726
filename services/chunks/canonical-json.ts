// RFC 8785 JSON Canonicalization Scheme (JCS) for the manifest. Object members sorted by their
// UTF-16 code units (JavaScript's default string order), no whitespace, strings and numbers
// serialised as ECMAScript's JSON.stringify does (which is what JCS specifies). Only finite
// numbers; undefined members are left out like JSON.stringify does.
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json | undefined };

export function canonicalize(value: Json): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('JCS cannot represent NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly Json[]).map(canonicalize).join(',')}]`;
  const obj = value as { readonly [k: string]: Json | undefined };
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k] as Json)}`).join(',')}}`;
}

export function canonicalBytes(value: Json): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
