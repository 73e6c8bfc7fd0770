import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  COMPILE_CACHE_ENV,
  DISABLE_COMPILE_CACHE_ENV,
  NODE_V8_FLAGS,
  nodeChildEnv,
  nodeV8Flags,
  privateCompileCacheDir,
} from './process-settings.ts';

const uid = process.getuid?.();
const posix = uid !== undefined;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-process-settings-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('nodeV8Flags', () => {
  it('gives every default flag when NODE_OPTIONS is absent or names none of them', () => {
    expect(nodeV8Flags(undefined)).toEqual(NODE_V8_FLAGS);
    expect(nodeV8Flags('')).toEqual(NODE_V8_FLAGS);
    expect(nodeV8Flags('--enable-source-maps --max-old-space-size=512')).toEqual(NODE_V8_FLAGS);
  });

  it.each([
    '--max-semi-space-size=32',
    '--max_semi_space_size=32',
    '--cpu-prof  --max-semi-space-size=4',
  ])('leaves out a default flag NODE_OPTIONS sets itself (%s)', (options) => {
    expect(nodeV8Flags(options)).not.toContain('--max-semi-space-size=16');
  });
});

describe.runIf(posix)('privateCompileCacheDir', () => {
  it('creates a directory only its owner can use and returns it', () => {
    const dir = privateCompileCacheDir(root, uid);
    expect(dir).toBe(join(root, `qkms-compile-cache-${uid ?? ''}`));
    expect(statSync(dir ?? '').mode & 0o777).toBe(0o700);
    expect(privateCompileCacheDir(root, uid)).toBe(dir); // and reuses it
  });

  it('refuses a directory owned by another user', () => {
    const other = (uid ?? 0) + 1;
    mkdirSync(join(root, `qkms-compile-cache-${other}`), { mode: 0o700 });
    expect(privateCompileCacheDir(root, other)).toBeUndefined();
  });

  it('refuses a directory others may write', () => {
    const dir = join(root, `qkms-compile-cache-${uid ?? ''}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(privateCompileCacheDir(root, uid)).toBeUndefined();
  });

  it('refuses a symlink, even to a private directory', () => {
    const target = join(root, 'elsewhere');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(root, `qkms-compile-cache-${uid ?? ''}`));
    expect(privateCompileCacheDir(root, uid)).toBeUndefined();
  });

  it('refuses a parent others may write without the sticky bit, and accepts a sticky one', () => {
    chmodSync(root, 0o777);
    expect(privateCompileCacheDir(root, uid)).toBeUndefined();
    chmodSync(root, 0o1777);
    expect(privateCompileCacheDir(root, uid)).toBeDefined();
  });

  it('gives no cache without a POSIX uid', () => {
    expect(privateCompileCacheDir(root, undefined)).toBeUndefined();
  });
});

describe('nodeChildEnv', () => {
  it('puts the default V8 flags in front of NODE_OPTIONS, so a later flag of the caller wins', () => {
    expect(nodeChildEnv({ PATH: '/bin' })['NODE_OPTIONS']).toBe(NODE_V8_FLAGS.join(' '));
    expect(nodeChildEnv({ NODE_OPTIONS: '--cpu-prof' })['NODE_OPTIONS']).toBe(
      [...NODE_V8_FLAGS, '--cpu-prof'].join(' '),
    );
    expect(nodeChildEnv({ NODE_OPTIONS: '--max-semi-space-size=64' })['NODE_OPTIONS']).toBe(
      '--max-semi-space-size=64',
    );
  });

  it('keeps the rest of the environment', () => {
    expect(nodeChildEnv({ PATH: '/bin', QKMS_LOG_LEVEL: 'warn' })).toMatchObject({
      PATH: '/bin',
      QKMS_LOG_LEVEL: 'warn',
    });
  });

  it.runIf(posix)('names the private compile cache unless the environment decides it', () => {
    expect(nodeChildEnv({})[COMPILE_CACHE_ENV]).toBe(privateCompileCacheDir(tmpdir(), uid));
    expect(nodeChildEnv({ [COMPILE_CACHE_ENV]: '/var/cache/qkms' })[COMPILE_CACHE_ENV]).toBe(
      '/var/cache/qkms',
    );
    const off = nodeChildEnv({ [DISABLE_COMPILE_CACHE_ENV]: '1' });
    expect(off[COMPILE_CACHE_ENV]).toBeUndefined();
    expect(off[DISABLE_COMPILE_CACHE_ENV]).toBe('1');
  });
});
