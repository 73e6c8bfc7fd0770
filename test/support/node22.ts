// Other Node versions for tests that must prove where the packages run: the
// official binary of a release line, fetched from the npm registry (the
// node-<platform>-<arch> package the `node` package installs) once, and
// cached in node_modules/.cache/qkms-node<major>/<version>/. A cached
// version is used without asking the registry, so a second run works
// offline; `npm ci` (a fresh node_modules) fetches the newest again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** A binary package is ~30 MB: minutes on a slow link, not forever. */
const FETCH_TIMEOUT_MS = 600_000;

/** The registry package holding this platform's official Node binary. */
export function binaryPackage(platform = process.platform, arch = process.arch): string {
  if (platform !== 'linux' && platform !== 'darwin')
    throw new Error(`no registry Node binary for this test on ${platform} (linux or darwin only)`);
  return `node-${platform}-${arch}`;
}

export function cacheDir(major: number): string {
  return join(REPO_ROOT, 'node_modules', '.cache', `qkms-node${major}`);
}

/** Compares x.y.z versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest `major`.x version among `versions`, or undefined. */
export function newestOfMajor(versions: readonly string[], major: number): string | undefined {
  return versions
    .filter((v) => new RegExp(`^${major}\\.\\d+\\.\\d+$`).test(v))
    .sort(compareVersions)
    .at(-1);
}

function npm(args: readonly string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: FETCH_TIMEOUT_MS });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed (${String(result.status)}): ${result.stderr}`);
  return result.stdout;
}

/** The newest `major`.x the registry offers for this platform. */
function newestPublished(pkg: string, major: number): string {
  const out: unknown = JSON.parse(npm(['view', `${pkg}@${major}`, 'version', '--json'], REPO_ROOT));
  const versions = Array.isArray(out) ? out.map(String) : [String(out)];
  const newest = newestOfMajor(versions, major);
  if (newest === undefined) throw new Error(`the registry offers no ${pkg}@${major}.x`);
  return newest;
}

function binaryIn(dir: string): string {
  return join(dir, 'bin', 'node');
}

/** Asks the binary its version; throws unless it is a `major`.x Node that runs here. */
function checkBinary(node: string, major: number): void {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.startsWith(`v${major}.`))
    throw new Error(`${node} is not a working Node ${major}: ${result.stdout}${result.stderr}`);
}

/**
 * The path of a Node `major`.x binary: the newest cached one, else the newest
 * the registry offers, fetched with `npm pack` and unpacked into the cache.
 */
export function registryNode(major: number): string {
  const cache = cacheDir(major);
  const cached = existsSync(cache)
    ? newestOfMajor(
        readdirSync(cache).filter((v) => existsSync(binaryIn(join(cache, v)))),
        major,
      )
    : undefined;
  if (cached !== undefined) return binaryIn(join(cache, cached));

  const pkg = binaryPackage();
  const version = newestPublished(pkg, major);
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, '.fetch-'));
  try {
    const [packed] = JSON.parse(
      npm(['pack', `${pkg}@${version}`, '--json', '--pack-destination', work], work),
    ) as { filename: string }[];
    if (packed === undefined) throw new Error(`npm pack ${pkg}@${version} printed no file`);
    const unpacked = join(work, 'package');
    const tar = spawnSync('tar', ['-xzf', join(work, packed.filename), '-C', work], {
      encoding: 'utf8',
    });
    if (tar.status !== 0) throw new Error(`unpacking ${packed.filename} failed: ${tar.stderr}`);
    checkBinary(binaryIn(unpacked), major);
    // A rename, so a run that died half way never leaves a cache entry behind.
    renameSync(unpacked, join(cache, version));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binaryIn(join(cache, version));
}

/** Node 22: the oldest Node @qkms/client supports (client/runtime-check.ts). */
export function node22(): string {
  return registryNode(22);
}

/**
 * A Node older than any qkms package supports: the machine's /usr/bin/node
 * when it is one (these machines have Node 20), else Node 20 from the registry.
 */
export function oldNode(): string {
  const system = '/usr/bin/node';
  if (existsSync(system)) {
    const v = spawnSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout;
    if (compareVersions(v.trim(), '22.0.0') < 0) return system;
  }
  return registryNode(20);
}
