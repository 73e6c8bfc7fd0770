// The linter enforces the rules a reviewer would otherwise have to catch:
// imports that break the layering of DESIGN.md, Node I/O in the pure layers,
// reaching into a sibling's internals, and floating promises.
import { ESLint } from 'eslint';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const PROBE_DIR = '__lint_probe__';
const LAYERS = [
  'shamir',
  'protocol',
  'protocol/suite',
  'revocation',
  'client',
  'node',
  'cli',
  'examples',
];
let eslint: ESLint;

// Type-aware lint rules only see files the TypeScript project contains, so the
// probes are real (empty) files, one per layer, removed afterwards; the code
// under test is passed as their text.
beforeAll(() => {
  for (const layer of LAYERS) {
    const file = resolve(root, layer, PROBE_DIR, 'probe.ts');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'export {};\n');
  }
  eslint = new ESLint({ cwd: root });
});

afterAll(() => {
  for (const layer of LAYERS)
    rmSync(resolve(root, layer, PROBE_DIR), { recursive: true, force: true });
});

/** Lints `code` as if it were a file in `layer`, one folder below it. */
async function ruleIds(layer: string, code: string): Promise<string[]> {
  const filePath = resolve(root, layer, PROBE_DIR, 'probe.ts');
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('layering (DESIGN.md: cli/ -> node/, client/ -> revocation/ -> protocol/ -> shamir/)', () => {
  const upward: [string, string][] = [
    ['shamir', '../../protocol/index.ts'],
    ['protocol', '../../revocation/index.ts'],
    ['protocol/suite', '../../../node/index.ts'],
    ['revocation', '../../client/index.ts'],
    ['client', '../../node/index.ts'],
    ['node', '../../client/index.ts'],
    ['node', '../../cli/main.ts'],
    ['client', '../../cli/main.ts'],
    ['revocation', '../../cli/main.ts'],
  ];
  for (const [file, target] of upward) {
    it(`refuses ${file}/ importing ${target}`, async () => {
      expect(
        await ruleIds(file, `import { x } from '${target}';\nexport const y = x;\n`),
      ).toContain('no-restricted-imports');
    });
  }

  it('allows importing down the layers through index.ts', async () => {
    expect(
      await ruleIds(
        'protocol',
        "import { split } from '../../shamir/index.ts';\nexport const y = split;\n",
      ),
    ).toEqual([]);
  });

  it("refuses reaching into a sibling's internals", async () => {
    expect(
      await ruleIds(
        'protocol',
        "import { mul } from '../../shamir/gf256.ts';\nexport const y = mul;\n",
      ),
    ).toContain('no-restricted-imports');
  });

  it('lets the layers import protocol/internal.ts, and nothing else inside protocol/', async () => {
    const internal =
      "import { decodeMessage } from '../../protocol/internal.ts';\nexport const y = decodeMessage;\n";
    expect(await ruleIds('node', internal)).toEqual([]);
    expect(await ruleIds('client', internal)).toEqual([]);
    expect(
      await ruleIds(
        'node',
        "import { decodeMessage } from '../../protocol/messages/registry.ts';\nexport const y = decodeMessage;\n",
      ),
    ).toContain('no-restricted-imports');
    expect(
      await ruleIds(
        'node',
        "import { x } from '../../protocol/internal.ts.bak';\nexport const y = x;\n",
      ),
    ).toContain('no-restricted-imports');
    // shamir/ is below protocol/: not even its internal entry.
    expect(await ruleIds('shamir', internal)).toContain('no-restricted-imports');
  });

  it('lets examples/ (what an integrator writes) import index.ts entries only', async () => {
    expect(
      await ruleIds(
        'examples',
        "import { toHex } from '../../protocol/index.ts';\nexport const y = toHex;\n",
      ),
    ).toEqual([]);
    expect(
      await ruleIds(
        'examples',
        "import { decodeMessage } from '../../protocol/internal.ts';\nexport const y = decodeMessage;\n",
      ),
    ).toContain('no-restricted-imports');
  });

  it('refuses Node I/O in the pure layers but allows it in node/', async () => {
    const code = "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n";
    expect(await ruleIds('protocol', code)).toContain('no-restricted-imports');
    expect(
      await ruleIds('revocation', "import { Level } from 'level';\nexport const y = Level;\n"),
    ).toContain('no-restricted-imports');
    expect(await ruleIds('node', code)).toEqual([]);
  });
});

describe('the cli/ layer', () => {
  it('may import node/ and client/ through their index.ts', async () => {
    expect(
      await ruleIds(
        'cli',
        "import { startDaemon } from '../../node/index.ts';\nimport { Session } from '../../client/index.ts';\nexport const y = [startDaemon, Session];\n",
      ),
    ).toEqual([]);
  });

  it("may not reach into node/'s internals", async () => {
    expect(
      await ruleIds(
        'cli',
        "import { startDaemon } from '../../node/daemon.ts';\nexport const y = startDaemon;\n",
      ),
    ).toContain('no-restricted-imports');
  });
});

describe('daemon hygiene', () => {
  it('refuses a floating promise', async () => {
    const code = 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n';
    expect(await ruleIds('node', code)).toContain('@typescript-eslint/no-floating-promises');
  });

  it('refuses enums and `any`', async () => {
    expect(await ruleIds('node', 'export enum E { A }\n')).toContain('no-restricted-syntax');
    expect(await ruleIds('node', 'export const a: any = 1;\n')).toContain(
      '@typescript-eslint/no-explicit-any',
    );
  });
});
