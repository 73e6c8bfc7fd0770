// How a qkms process is started, beyond its own settings (docs/operations.md
// "Process settings", decision 0018):
//   - V8 flags for a node: V8 sizes the young generation from the machine's
//     RAM (64 MiB semi-spaces on a 24 GiB host), which a node with about
//     60 MiB of live heap neither needs nor wants; a heap is sized when the
//     process starts (v8.setFlagsFromString cannot shrink it later), so the
//     launcher passes them, in NODE_OPTIONS: spawnNodeChild, the container
//     image, the systemd unit;
//   - Node's module compile cache (node:module): V8's code cache of every
//     module and, for a .ts file, its type-stripped JavaScript, so that a
//     start neither strips types nor compiles from scratch. The cache holds
//     code this process will run, so it lives only in a directory that no
//     other user can write.
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { constants, enableCompileCache as enableNodeCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * V8 flags of a node process, unless NODE_OPTIONS sets the same flag. 16 MiB
 * semi-spaces, a quarter of what V8 picks on a 24 GiB host: about 90 MiB less
 * resident and no recover latency lost; 8 MiB cost p99 (decision 0018).
 */
export const NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** Names the compile cache directory; Node enables its cache itself when it is set. */
export const COMPILE_CACHE_ENV = 'NODE_COMPILE_CACHE';
/** Node's switch that turns the compile cache off, whatever asks for it. */
export const DISABLE_COMPILE_CACHE_ENV = 'NODE_DISABLE_COMPILE_CACHE';
/** This user's cache under the OS temp dir: `qkms-compile-cache-<uid>`. */
const CACHE_DIR_PREFIX = 'qkms-compile-cache-';
/** Write access for group or others. */
const GROUP_OR_OTHER_WRITE = 0o022;
/** The sticky bit: in a sticky directory only an entry's owner may rename or delete it. */
const STICKY = 0o1000;

type Env = Readonly<Record<string, string | undefined>>;

/** `--max_semi_space_size=8` and `--max-semi-space-size 8` both name `max-semi-space-size`. */
function flagName(flag: string): string {
  return (flag.split('=')[0] ?? '').replace(/^-+/, '').replaceAll('_', '-');
}

/** NODE_V8_FLAGS less those NODE_OPTIONS already sets: the operator's value wins. */
export function nodeV8Flags(nodeOptions: string | undefined): string[] {
  const given = new Set((nodeOptions ?? '').split(/\s+/).filter(Boolean).map(flagName));
  return NODE_V8_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** The parent may hold our directory: owned by root or us, and no one else may replace entries. */
function isSafeParent(stats: Stats, uid: number): boolean {
  return (
    stats.isDirectory() &&
    (stats.uid === 0 || stats.uid === uid) &&
    ((stats.mode & GROUP_OR_OTHER_WRITE) === 0 || (stats.mode & STICKY) !== 0)
  );
}

/**
 * This user's (`uid`'s) compile cache directory under `root` (the OS temp dir),
 * created 0700 if missing, or undefined if it is not safe to use: not a
 * directory (a symlink is not followed), owned by another user, writable by
 * group or others, or in a parent where another user could replace it. No
 * POSIX uid (Windows): undefined, no cache.
 */
export function privateCompileCacheDir(root: string, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const dir = join(root, `${CACHE_DIR_PREFIX}${uid}`);
  try {
    if (!isSafeParent(statSync(root), uid)) return undefined;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) return undefined;
    }
    const stats = lstatSync(dir);
    if (!stats.isDirectory() || stats.uid !== uid) return undefined;
    if ((stats.mode & GROUP_OR_OTHER_WRITE) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** Whether ENV already decides the compile cache: names a directory, or turns it off. */
function envDecidesCache(env: Env): boolean {
  return env[COMPILE_CACHE_ENV] !== undefined || env[DISABLE_COMPILE_CACHE_ENV] !== undefined;
}

/**
 * Turns on Node's compile cache for the rest of this process's module loads,
 * in this user's private directory under the OS temp dir, unless the
 * environment decided (Node acted on NODE_COMPILE_CACHE or
 * NODE_DISABLE_COMPILE_CACHE before any code ran). Returns the directory in
 * use, or undefined. Never throws: the cache only saves time.
 */
export function enableCompileCache(env: Env = process.env): string | undefined {
  if (envDecidesCache(env)) return undefined;
  const dir = privateCompileCacheDir(tmpdir(), process.getuid?.());
  if (dir === undefined) return undefined;
  try {
    const { status, directory } = enableNodeCompileCache(dir);
    const { ENABLED, ALREADY_ENABLED } = constants.compileCacheStatus;
    return status === ENABLED || status === ALREADY_ENABLED ? directory : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The environment of a node child: ENV, with NODE_V8_FLAGS in front of its
 * NODE_OPTIONS (less a flag it sets itself), and NODE_COMPILE_CACHE naming
 * this user's private cache unless ENV decides the cache. Both go through the
 * environment, so they reach Node through a wrapper (`ip netns exec …`), and
 * the cache covers the child's first module too (bin/qkms.ts): it never
 * loads the type stripper.
 */
export function nodeChildEnv(env: Env): Env {
  const options = [...nodeV8Flags(env['NODE_OPTIONS']), env['NODE_OPTIONS'] ?? ''].join(' ').trim();
  const out: Record<string, string | undefined> = { ...env };
  if (options !== '') out['NODE_OPTIONS'] = options;
  if (!envDecidesCache(env)) {
    const dir = privateCompileCacheDir(tmpdir(), process.getuid?.());
    if (dir !== undefined) out[COMPILE_CACHE_ENV] = dir;
  }
  return out;
}
