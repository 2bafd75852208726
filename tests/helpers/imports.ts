// A small import scanner for the architecture tests: every static and dynamic import of every
// source file, resolved to a repo path when relative.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ImportEdge {
  readonly from: string;        // repo-relative file
  readonly specifier: string;
  readonly target: string | null; // repo-relative .ts file for relative imports, else null
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

export function sourceFiles(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(relative(REPO, path));
    }
  };
  for (const d of dirs) {
    try { walk(join(REPO, d)); } catch { /* folder not there yet */ }
  }
  return out.sort();
}

const STATIC = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT = /^\s*import\s+['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(join(REPO, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean, dynamic: boolean): void => {
    let target: string | null = null;
    if (specifier.startsWith('.')) {
      target = relative(REPO, resolve(dirname(join(REPO, file)), specifier)).replace(/\.m?js$/, '.ts');
    }
    edges.push({ from: file, specifier, target, typeOnly, dynamic });
  };
  for (const m of text.matchAll(STATIC)) {
    const clause = m[3] ?? '';
    // `import { type A, type B }` is type-only too.
    const allTypes = /^\{[^}]*\}$/.test(clause.trim()) && clause.replace(/[{}\s]/g, '').split(',').filter(Boolean).every((p) => p.startsWith('type'));
    add(m[4]!, Boolean(m[2]) || allTypes, false);
  }
  for (const m of text.matchAll(SIDE_EFFECT)) add(m[1]!, false, false);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false, true);
  return edges;
}

/** Finds one import cycle among value (non-type) imports, or null. */
export function findCycle(edges: readonly ImportEdge[]): string[] | null {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (e.typeOnly || !e.target) continue;
    (graph.get(e.from) ?? graph.set(e.from, []).get(e.from)!).push(e.target);
  }
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}
