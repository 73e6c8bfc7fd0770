// The package.json of each published package (decision 0013), derived from
// the repository's: its version, license and `imports` conditions (the
// targets moved from ./<layer>/*.ts to ./dist/<layer>/*.js); dependencies are
// computed elsewhere (dependencies.ts) and passed in.
import type { ImportsField, RootManifest } from './dependencies.ts';

/** What the manifests take from the repository's package.json. */
export interface RepoManifest extends RootManifest {
  readonly version: string;
  readonly license: string;
  readonly engines: { readonly node: string };
  readonly imports: ImportsField;
}

export const CLIENT_PACKAGE = '@qkms/client';
export const CLI_PACKAGE = 'qkms';

/** Where the tsc emit sits inside each package. */
export const DIST = 'dist';
/** The layers each package ships. */
export const CLIENT_LAYERS = ['client', 'protocol', 'revocation', 'shamir'] as const;
export const CLI_LAYERS = ['bin', 'cli', 'node', ...CLIENT_LAYERS] as const;
/** libp2p 3 and the client need Node 22 (client/runtime-check.ts). */
export const CLIENT_NODE_RANGE = '>=22';
/** The browser bundle inside @qkms/client, and its declarations. */
export const BUNDLE_FILE = `${DIST}/browser/qkms-client.js`;
export const BUNDLE_TYPES = `${DIST}/browser/qkms-client.d.ts`;

/** Packages each must never depend on, and why (the build fails if it would). */
export const CLIENT_FORBIDDEN: Readonly<Record<string, string>> = {
  level: 'server-only storage (node/), not for a player',
  'prom-client': 'server-only metrics (node/), not for a player',
  node: 'the Node binary the repository pins for its own scripts',
};
/** Packages the CLI resolves at run time rather than imports, and the shipped file that does. */
export const CLI_RESOLVED_AT_RUN_TIME: Readonly<Record<string, string>> = {
  '@foundry-rs/anvil': `${DIST}/cli/dev-chain/anvil.js`,
};
export const CLI_FORBIDDEN: Readonly<Record<string, string>> = {
  node: 'the Node binary the repository pins; an installed qkms runs on the Node of its host',
};

/** ./protocol/suite/default-node.ts -> ./dist/protocol/suite/default-node.js */
export function emittedPath(sourcePath: string): string {
  if (!sourcePath.startsWith('./') || !sourcePath.endsWith('.ts'))
    throw new Error(`expected a ./…/*.ts path in package.json, got ${sourcePath}`);
  return `./${DIST}/${sourcePath.slice(2, -'.ts'.length)}.js`;
}

/** The repository's `imports` with every target moved to the emit, conditions unchanged. */
export function emittedImports(imports: ImportsField): ImportsField {
  return Object.fromEntries(
    Object.entries(imports).map(([name, target]) => [
      name,
      typeof target === 'string'
        ? emittedPath(target)
        : Object.fromEntries(Object.entries(target).map(([c, t]) => [c, emittedPath(t)])),
    ]),
  );
}

const layerEntry = (layer: string): { types: string; default: string } => ({
  types: `./${DIST}/${layer}/index.d.ts`,
  default: `./${DIST}/${layer}/index.js`,
});

/** The client package: the client library, the layers below it, the browser bundle. */
export function clientManifest(
  repo: RepoManifest,
  dependencies: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return {
    name: CLIENT_PACKAGE,
    version: repo.version,
    description:
      'qkms client: publish content keys to a qkms quorum and recover them from any t nodes, in Node and in browsers.',
    license: repo.license,
    type: 'module',
    engines: { node: CLIENT_NODE_RANGE },
    exports: {
      '.': {
        types: `./${DIST}/client/index.d.ts`,
        browser: `./${DIST}/client/entry-browser.js`,
        node: `./${DIST}/client/entry-node.js`,
        default: `./${DIST}/client/entry-browser.js`,
      },
      './protocol': layerEntry('protocol'),
      './revocation': layerEntry('revocation'),
      './shamir': layerEntry('shamir'),
      './browser-bundle': { types: `./${BUNDLE_TYPES}`, default: `./${BUNDLE_FILE}` },
      './package.json': './package.json',
    },
    imports: emittedImports(repo.imports),
    // Only the runtime checks (and the bundle, which runs one) do anything on
    // import; every other module may be dropped when nothing of it is used.
    sideEffects: [
      `./${DIST}/client/runtime-check-node.js`,
      `./${DIST}/client/runtime-check-browser.js`,
      `./${BUNDLE_FILE}`,
    ],
    files: [DIST],
    dependencies,
  };
}

/** The CLI and node daemon package: everything emitted, the `qkms` executable, no library entries. */
export function cliManifest(
  repo: RepoManifest,
  dependencies: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return {
    name: CLI_PACKAGE,
    version: repo.version,
    description:
      'qkms: the node daemon and command line of a distributed threshold key-management service.',
    license: repo.license,
    type: 'module',
    engines: { node: repo.engines.node },
    bin: { qkms: `${DIST}/bin/qkms.js` },
    // A command, not a library: integrators import @qkms/client.
    exports: { './package.json': './package.json' },
    imports: emittedImports(repo.imports),
    files: [DIST],
    dependencies,
  };
}
