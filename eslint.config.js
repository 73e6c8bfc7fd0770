// Lint rules that carry weight in a daemon and a key-custody library:
// floating promises, `any`, and imports that break the layering of DESIGN.md
// (cli/ -> node/, client/ -> revocation/ -> protocol/ -> shamir/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders each layer must not import, and why. */
const LAYERS = {
  shamir: ['protocol', 'revocation', 'node', 'client', 'cli'],
  protocol: ['revocation', 'node', 'client', 'cli'],
  revocation: ['node', 'client', 'cli'],
  client: ['node', 'cli'],
  node: ['client', 'cli'],
  cli: [],
};

/** Pure layers run in a browser: no Node I/O, no storage, no networking. */
const BROWSER_SAFE_BANS = [
  {
    regex: '^node:',
    allowTypeImports: true,
    message:
      'pure layers import no node:* module (they run in a browser); native.ts reaches node:crypto through process.getBuiltinModule',
  },
  {
    regex: '^(level|classic-level|libp2p|@libp2p/.*|@chainsafe/.*|prom-client)$',
    message: 'pure layers do no I/O',
  },
];

/**
 * Sibling folders are imported through their index.ts; inside the layers,
 * protocol/internal.ts too: the protocol layer's in-repo entry, exporting what
 * the other layers need and integrators must not rely on (decision 0011).
 */
const SIBLING_ENTRY_ONLY =
  '^(\\.\\./)+(?!protocol/internal\\.ts$)(shamir|protocol|revocation|node|client|cli)/(?!index\\.ts$).+';

/** Outside the layers (examples/: what an integrator writes), only index.ts entries. */
const PUBLIC_ENTRIES_ONLY = {
  files: ['examples/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(\\.\\./)+(shamir|protocol|revocation|node|client|cli)/(?!index\\.ts$).+',
            message:
              'an integrator imports a layer through its index.ts (protocol/internal.ts is for this repo only)',
          },
        ],
      },
    ],
  },
};

function layerRule(layer) {
  const banned = LAYERS[layer];
  const patterns = [
    ...(banned.length === 0
      ? []
      : [
          {
            regex: `^(\\.\\./)+(${banned.join('|')})(/|$)`,
            message: `${layer}/ may not import ${banned.join(', ')} (see DESIGN.md, Layout)`,
          },
        ]),
    {
      regex: SIBLING_ENTRY_ONLY,
      message:
        'import a sibling folder through its index.ts (protocol/internal.ts inside this repo), not its internals',
    },
  ];
  if (['shamir', 'protocol', 'revocation'].includes(layer)) patterns.push(...BROWSER_SAFE_BANS);
  return {
    files: [`${layer}/**/*.ts`],
    ignores: [`${layer}/**/*.test.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  // build/ is `npm run build`'s output (decision 0013): emitted and bundled JavaScript.
  { ignores: ['node_modules/**', 'coverage/**', '.qkms/**', 'build/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: true },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'use an `as const` object and a union' },
        { selector: 'TSParameterProperty', message: 'no parameter properties' },
        { selector: 'ExportAllDeclaration', message: 'no `export *`: name what a module exports' },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // vitest's asymmetric matchers (expect.objectContaining) are typed `any`.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // expect(() => f()).toThrow(...) is the idiom, and f often returns void.
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  ...Object.keys(LAYERS).map(layerRule),
  PUBLIC_ENTRIES_ONLY,
  {
    // A package entry is exactly a layer's index.ts, which names each export (decision 0013).
    files: ['client/entry-node.ts', 'client/entry-browser.ts', 'deploy/packages/browser-entry.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
