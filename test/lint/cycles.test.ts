// No import cycles: between layers (cli/ -> node/, client/ -> revocation/ ->
// protocol/ -> shamir/) and between files. A circle of files (the old
// node/cli/ was eight files around main.ts) means no file in it can be read,
// tested or loaded alone. The graph is the static imports of every source
// file, read with TypeScript's own pre-processor; type-only imports count,
// because they tie the files together for a reader just the same.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const LAYERS = ['cli', 'node', 'client', 'revocation', 'protocol', 'shamir'] as const;
/** Each layer and the layers it may import (DESIGN.md, Layout). */
const ALLOWED: Record<(typeof LAYERS)[number], readonly string[]> = {
  cli: ['node', 'client', 'revocation', 'protocol', 'shamir'],
  node: ['revocation', 'protocol', 'shamir'],
  client: ['revocation', 'protocol', 'shamir'],
  revocation: ['protocol', 'shamir'],
  protocol: ['shamir'],
  shamir: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('__lint_probe__'))
    .map((f) => join(dir, f));
}

/** File (relative to the root) -> the repository files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of LAYERS.flatMap(sourceFiles)) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(root, resolve(root, dirname(file), spec)));
    graph.set(file, targets);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const layerOf = (file: string): string => file.split('/')[0] ?? '';

describe('import cycles', () => {
  const graph = importGraph();

  it('reads a graph of the whole source tree', () => {
    // A guard against a silently empty graph (a wrong root or filter).
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('cli/main.ts')).toContain('cli/commands/index.ts');
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const circle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(circle)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(cycles(new Map([['a.ts', ['a.ts']]]))).toEqual([['a.ts']]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('no file imports itself through others', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('every import points down the layers', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file) as (typeof LAYERS)[number];
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from].includes(to)) upward.push(`${file} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('node/ imports nothing command-line shaped', () => {
    const cliShaped: string[] = [];
    for (const file of sourceFiles('node')) {
      const text = readFileSync(join(root, file), 'utf8');
      if (/process\.argv|from 'node:util'.*parseArgs|\bparseArgs\(/.test(text))
        cliShaped.push(file);
    }
    expect(cliShaped).toEqual([]);
  });
});
