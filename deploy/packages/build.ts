// `npm run build`: the two packages a player or an operator installs
// (decision 0013), from one tsc emit of the repository's sources:
//   build/tsc/                 the emit (.js + .d.ts; tsconfig.build.json)
//   build/browser/             the self-contained browser bundle (browser-bundle.ts)
//   build/packages/stage/*/    each package's files, as packed
//   build/packages/*.tgz       `npm pack` of each: @qkms/client and qkms
// Each package's dependencies are computed from what its files import; the
// build fails on a server-only dependency in the client, or an import the
// repository's package.json does not declare.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_BUNDLE, ROOT, buildBrowserBundle, type BundleSize } from './browser-bundle.ts';
import { codeFiles, packageDependencies, type DependencyRules } from './dependencies.ts';
import {
  BUNDLE_FILE,
  BUNDLE_TYPES,
  CLIENT_FORBIDDEN,
  CLIENT_LAYERS,
  CLIENT_PACKAGE,
  CLI_FORBIDDEN,
  CLI_RESOLVED_AT_RUN_TIME,
  CLI_LAYERS,
  CLI_PACKAGE,
  DIST,
  cliManifest,
  clientManifest,
  emittedImports,
  type RepoManifest,
} from './manifests.ts';

export const EMIT_DIR = join(ROOT, 'build', 'tsc');
export const PACKAGES_DIR = join(ROOT, 'build', 'packages');
const STAGE_DIR = join(PACKAGES_DIR, 'stage');
const HERE = join(ROOT, 'deploy', 'packages');
/** tsc and npm pack take seconds; this catches a hung child, not a slow one. */
const CHILD_TIMEOUT_MS = 300_000;

export interface BuiltPackage {
  readonly name: string;
  /** The package's files as packed. */
  readonly dir: string;
  /** The `npm pack` tarball. */
  readonly tarball: string;
  readonly dependencies: Readonly<Record<string, string>>;
  /** Files the package's code names but does not ship (missingAssets). */
  readonly warnings: readonly string[];
}

export interface BuiltPackages {
  readonly client: BuiltPackage;
  readonly cli: BuiltPackage;
  readonly bundle: BundleSize;
}

export function readRepoManifest(): RepoManifest {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RepoManifest;
}

/** Runs a child to completion; throws with its output when it fails. */
export function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 << 20,
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${String(result.status ?? result.signal)}):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

/** The tsc emit of tsconfig.build.json into build/tsc/, from scratch. */
export function emitTypeScript(): void {
  rmSync(EMIT_DIR, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], ROOT);
  const bin = readFileSync(join(EMIT_DIR, 'bin', 'qkms.js'), 'utf8');
  if (!bin.startsWith('#!/usr/bin/env node\n'))
    throw new Error('build/tsc/bin/qkms.js lost its #!/usr/bin/env node line');
}

/** A fresh package directory holding dist/<layer> for each layer, a README and the LICENSE. */
function stage(name: string, layers: readonly string[], readme: string): string {
  const dir = join(STAGE_DIR, name.replace('@', '').replace('/', '-'));
  rmSync(dir, { recursive: true, force: true });
  for (const layer of layers)
    cpSync(join(EMIT_DIR, layer), join(dir, DIST, layer), { recursive: true });
  cpSync(join(HERE, readme), join(dir, 'README.md'));
  if (existsSync(join(ROOT, 'LICENSE'))) cpSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'));
  return dir;
}

interface NpmPackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** `npm pack` of `dir` into build/packages/; the tarball's path. Fails if it holds a test file. */
export function pack(dir: string): string {
  mkdirSync(PACKAGES_DIR, { recursive: true });
  const out = run('npm', ['pack', '--json', '--pack-destination', PACKAGES_DIR], dir);
  const [result] = JSON.parse(out) as NpmPackResult[];
  if (result === undefined) throw new Error(`npm pack printed no result for ${dir}`);
  const tests = result.files.filter((f) => /\.test\.|(^|\/)test\//.test(f.path));
  if (tests.length > 0)
    throw new Error(`${result.filename} would ship tests: ${tests.map((f) => f.path).join(', ')}`);
  return join(PACKAGES_DIR, result.filename);
}

/** `new URL('<relative path>', import.meta.url)`: a file a module finds beside itself. */
const ASSET_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"]*)\1\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Files the package's modules name relative to themselves that it does not
 * ship: a source path (`../bin/qkms.ts`) or a file outside dist/
 * (`../package.json`) that exists in the repository and not in the package.
 */
export function missingAssets(dir: string): string[] {
  const missing: string[] = [];
  for (const file of codeFiles(join(dir, DIST)).filter((f) => f.endsWith('.js'))) {
    for (const [, , target = ''] of readFileSync(file, 'utf8').matchAll(ASSET_URL)) {
      if (!existsSync(resolve(dirname(file), target)))
        missing.push(`${relative(dir, file)} names ${target}, which the package does not ship`);
    }
  }
  return missing;
}

function writeManifest(dir: string, manifest: Record<string, unknown>): void {
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** @qkms/client: client/, protocol/, revocation/, shamir/ and the browser bundle. */
export function assembleClient(repo: RepoManifest): BuiltPackage {
  const dir = stage(CLIENT_PACKAGE, CLIENT_LAYERS, 'client-readme.md');
  mkdirSync(join(dir, DIST, 'browser'), { recursive: true });
  cpSync(BROWSER_BUNDLE, join(dir, BUNDLE_FILE));
  // The bundle is browser-entry.ts built whole: the client entry and `protocol`.
  writeFileSync(
    join(dir, BUNDLE_TYPES),
    "export * from '../client/index.js';\nexport * as protocol from '../protocol/index.js';\n",
  );
  const draft = clientManifest(repo, {});
  const rules: DependencyRules = {
    packageName: CLIENT_PACKAGE,
    root: dir,
    entries: entryFiles(draft['exports']),
    imports: emittedImports(repo.imports),
    forbidden: CLIENT_FORBIDDEN,
  };
  const dependencies = packageDependencies(rules, [DIST], repo);
  writeManifest(dir, clientManifest(repo, dependencies));
  const warnings = missingAssets(dir);
  return { name: CLIENT_PACKAGE, dir, tarball: pack(dir), dependencies, warnings };
}

/** qkms: every layer, the `qkms` executable. */
export function assembleCli(repo: RepoManifest): BuiltPackage {
  const dir = stage(CLI_PACKAGE, CLI_LAYERS, 'cli-readme.md');
  const bin = join(dir, DIST, 'bin', 'qkms.js');
  chmodSync(bin, 0o755);
  const rules: DependencyRules = {
    packageName: CLI_PACKAGE,
    root: dir,
    entries: [`${DIST}/bin/qkms.js`],
    imports: emittedImports(repo.imports),
    forbidden: CLI_FORBIDDEN,
    resolvedAtRunTime: CLI_RESOLVED_AT_RUN_TIME,
  };
  const dependencies = packageDependencies(rules, [DIST], repo);
  writeManifest(dir, cliManifest(repo, dependencies));
  const warnings = missingAssets(dir);
  return { name: CLI_PACKAGE, dir, tarball: pack(dir), dependencies, warnings };
}

/** Every file an `exports` field points at, under any condition. */
function entryFiles(exportsField: unknown): string[] {
  if (typeof exportsField === 'string') return exportsField.endsWith('.json') ? [] : [exportsField];
  if (typeof exportsField !== 'object' || exportsField === null) return [];
  return Object.values(exportsField).flatMap(entryFiles);
}

/** The whole build: emit, bundle, both packages packed. */
export async function buildPackages(): Promise<BuiltPackages> {
  emitTypeScript();
  const bundle = await buildBrowserBundle();
  const repo = readRepoManifest();
  rmSync(PACKAGES_DIR, { recursive: true, force: true });
  return { client: assembleClient(repo), cli: assembleCli(repo), bundle };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildPackages();
  for (const p of [built.client, built.cli]) {
    console.log(
      `${p.name}: ${p.tarball.slice(ROOT.length + 1)} (${Object.keys(p.dependencies).length} dependencies)`,
    );
    for (const w of p.warnings) console.warn(`  warning: ${w}`);
  }
  console.log(`browser bundle: ${built.bundle.file.slice(ROOT.length + 1)}`);
}
