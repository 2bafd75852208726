// RFC 8785 (JCS): the RFC's own examples for member order and numbers.
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../../services/chunks/index.js';

describe('RFC 8785 canonical JSON', () => {
  it('sorts members by UTF-16 code units, recursively, without whitespace', () => {
    // RFC 8785 §3.2.3 sorting example.
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // Read the order from the text: a parsed object would list the integer-like key "1" first.
    const values = [...canonicalize(input).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(values).toEqual(['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh']);
    expect(canonicalize({ b: [3, { d: 1, c: null }], a: true })).toBe('{"a":true,"b":[3,{"c":null,"d":1}]}');
  });

  it('serialises numbers and strings as ECMAScript does (RFC 8785 §3.2.2)', () => {
    expect(canonicalize([333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001, -0, 1e21, 1e-7])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,1e-27,0,1e+21,1e-7]',
    );
    expect(canonicalize({ s: '\u20ac$\u000f\nA\'B"\\\\"/' })).toBe('{"s":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    expect(() => canonicalize({ n: Number.NaN })).toThrow(TypeError);
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});
