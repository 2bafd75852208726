// Values from the routes' own JSON schemas, for tests that walk the live route table: a valid
// sample of a schema (strings matching its pattern via fast-check, numbers in range, required
// properties), and, for one property, values of every JSON type the schema does not allow.
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minProperties?: number;
  default?: unknown;
  [k: string]: unknown;
}

const one = <T>(arb: fc.Arbitrary<T>, seed: number): T => fc.sample(arb, { numRuns: 1, seed })[0]!;

const memo = new WeakMap<JsonSchema, Map<number, unknown>>();

/** A value the schema accepts (deterministic for a seed; remembered, since regex sampling is slow). */
export function sample(schema: JsonSchema, seed = 1): unknown {
  let bySeed = memo.get(schema);
  if (!bySeed) memo.set(schema, (bySeed = new Map()));
  if (!bySeed.has(seed)) bySeed.set(seed, sampleOnce(schema, seed));
  return structuredClone(bySeed.get(seed));
}

function sampleOnce(schema: JsonSchema, seed: number): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum.find((v) => v !== null) ?? schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return sample(branches.find((b) => b.type !== 'null') ?? branches[0]!, seed);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      const names = Object.keys(props);
      const wanted = new Set([...(schema.required ?? []), ...names.slice(0, schema.minProperties ?? 0)]);
      for (const name of wanted) out[name] = sample(props[name]!, seed);
      return out;
    }
    case 'array': return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}, seed));
    case 'string': {
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? Infinity;
      if (schema.pattern) {
        const arb = fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= max);
        return one(arb, seed);
      }
      return 'x'.repeat(Math.max(min, Math.min(max, 8)));
    }
    case 'integer': return Math.max(schema.minimum ?? 0, Math.min(schema.maximum ?? 1, 1));
    case 'number': return Math.max(schema.minimum ?? 0, Math.min(schema.maximum ?? 1, 1));
    case 'boolean': return true;
    case 'null': return null;
    default: return 'x';
  }
}

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'array' | 'object';
const CANDIDATES: ReadonlyArray<[JsonType, unknown]> = [
  ['string', '1'], ['string', 'true'], ['integer', 1], ['number', 1.5], ['boolean', true], ['null', null],
  ['array', []], ['array', ['owner']], ['object', {}], ['object', { a: 1 }],
];

/** The JSON types a schema accepts (integer counts as a number). */
export function allowedTypes(schema: JsonSchema): Set<JsonType> {
  const out = new Set<JsonType>();
  const add = (t: string): void => {
    out.add(t as JsonType);
    if (t === 'number') out.add('integer');
  };
  if (schema.const !== undefined) add(typeOf(schema.const));
  for (const v of schema.enum ?? []) add(typeOf(v));
  for (const b of schema.anyOf ?? schema.oneOf ?? []) for (const t of allowedTypes(b)) add(t);
  if (typeof schema.type === 'string') add(schema.type);
  if (Array.isArray(schema.type)) schema.type.forEach(add);
  if (out.size === 0) for (const [t] of CANDIDATES) out.add(t); // unconstrained: nothing is wrong
  return out;
}

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

/** Values whose JSON type `schema` does not allow (e.g. ["owner"] and 1 for a string). */
export function wrongTyped(schema: JsonSchema): unknown[] {
  const ok = allowedTypes(schema);
  return CANDIDATES.filter(([t]) => !ok.has(t)).map(([, v]) => v);
}
