// The HAL's structural rules (DESIGN §3/§4), checked on the source: hal/ imports nothing of ours,
// onoff is only ever loaded dynamically inside the real GPIO driver, nothing spawns processes
// (the device image has no shell), modules have no top-level side effects, every folder has an
// index.ts, files stay small, and every error code is documented.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { HAL_ERROR_CODES } from '../../../hal/index.js';

const halDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../hal');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (name === 'node_modules' || name === 'build' || name === 'native') return [];
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}
const sources = walk(halDir).filter((f) => f.endsWith('.ts'));
const rel = (f: string): string => relative(halDir, f);
const parse = (file: string): ts.SourceFile => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);

interface Specifier { text: string; dynamic: boolean }
function specifiers(sf: ts.SourceFile): Specifier[] {
  const found: Specifier[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ text: node.moduleSpecifier.text, dynamic: false });
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      found.push({ text: arg && ts.isStringLiteral(arg) ? arg.text : '<computed>', dynamic: true });
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      const arg = node.arguments[0];
      found.push({ text: arg && ts.isStringLiteral(arg) ? arg.text : '<computed>', dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('hal/ architecture', () => {
  it('finds the sources it checks', () => {
    expect(sources.length).toBeGreaterThan(25);
  });

  it('imports only node: builtins, npm packages and files inside hal/', () => {
    const bad: string[] = [];
    for (const file of sources) {
      for (const s of specifiers(parse(file))) {
        if (s.text.startsWith('.')) {
          const target = resolve(dirname(file), s.text);
          if (!target.startsWith(halDir + '/')) bad.push(`${rel(file)} → ${s.text}`);
          if (!s.dynamic && !s.text.endsWith('.js')) bad.push(`${rel(file)} → ${s.text} (missing .js)`);
        } else if (s.text.startsWith('node:')) {
          if (s.text === 'node:child_process') bad.push(`${rel(file)} spawns processes`);
        } else if (!['onoff', 'lucid-sd-notify', 'usb', '@noble/curves/secp256k1.js', '@noble/hashes/sha3.js'].includes(s.text)) {
          bad.push(`${rel(file)} → ${s.text} (unexpected package)`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('loads onoff only through a dynamic import in gpio/onoff-gpio.ts', () => {
    const uses = sources.flatMap((file) => specifiers(parse(file))
      .filter((s) => s.text === 'onoff')
      .map((s) => `${rel(file)}:${s.dynamic ? 'dynamic' : 'static'}`));
    expect(uses).toEqual(['gpio/onoff-gpio.ts:dynamic']);
  });

  it('loads usb (native) only through a dynamic import in wallet/usb-ledger.ts', () => {
    const uses = sources.flatMap((file) => specifiers(parse(file))
      .filter((s) => s.text === 'usb')
      .map((s) => `${rel(file)}:${s.dynamic ? 'dynamic' : 'static'}`));
    expect(uses).toEqual(['wallet/usb-ledger.ts:dynamic']);
  });

  it('has no top-level statements that run code at import', () => {
    const offenders: string[] = [];
    for (const file of sources) {
      for (const statement of parse(file).statements) {
        if (ts.isExpressionStatement(statement) || ts.isIfStatement(statement) || ts.isForStatement(statement)
          || ts.isForOfStatement(statement) || ts.isTryStatement(statement)) {
          offenders.push(`${rel(file)}: ${statement.getText().slice(0, 60)}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('importing hal/index.js loads no native code', async () => {
    await import('../../../hal/index.js');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((p) => /node_modules\/(onoff|epoll|usb|@node-usb)\/|sd_notify\.node/.test(p))).toEqual([]);
  });

  it('gives every folder an index.ts and keeps files at most 300 lines, kebab-case', () => {
    const folders = [...new Set(sources.map((f) => dirname(f)))];
    for (const folder of folders) expect(sources, rel(folder)).toContain(join(folder, 'index.ts'));
    for (const file of sources) {
      const lines = readFileSync(file, 'utf8').split('\n').length;
      expect(lines, rel(file)).toBeLessThanOrEqual(300);
      expect(rel(file)).toMatch(/^([a-z0-9]+(-[a-z0-9]+)*\/)*[a-z0-9]+(-[a-z0-9]+)*\.ts$/);
    }
  });

  it('documents every HAL error code in hal/README.md', () => {
    const readme = readFileSync(join(halDir, 'README.md'), 'utf8');
    for (const code of Object.keys(HAL_ERROR_CODES)) expect(readme, code).toContain(`\`${code}\``);
  });
});
