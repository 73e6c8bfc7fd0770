import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.ts';
import {
  assertNoSecretFile,
  checkSecretDir,
  prepareSecretDir,
  readPrivateFile,
  readSecretFile,
  writeNewFile,
  writeNewSecretFile,
} from './secret-file.ts';

const SECRET = '0x5ec2e7-not-a-real-secret\n';
const WRITE = { randomSuffix: '0123456789abcdef', what: 'a test secret' } as const;
const READ = { maxBytes: 1024 } as const;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-secret-file-'));
});
afterEach(() => {
  chmodSync(root, 0o700);
  rmSync(root, { recursive: true, force: true });
});

/** Expects `f` to throw a QkmsError with `code` whose message matches `pattern`; returns the message. */
function expectError(f: () => unknown, code: ErrorCode, pattern: RegExp | string): string {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeDefined();
  expect(thrown).toMatchObject({ code });
  const message = (thrown as Error).message;
  expect(message).toMatch(pattern);
  return message;
}

describe('prepareSecretDir', () => {
  it('creates missing directories 0700', () => {
    const dir = join(root, 'a', 'b');
    prepareSecretDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
  });

  it('accepts an existing directory others can read but not write (0755)', () => {
    chmodSync(root, 0o755);
    expect(() => {
      prepareSecretDir(root);
    }).not.toThrow();
  });

  it.each(['777', '775', '770', '757'])(
    'refuses an existing directory with mode %s and says how to fix it',
    (mode) => {
      chmodSync(root, Number.parseInt(mode, 8));
      expectError(
        () => {
          prepareSecretDir(root);
        },
        ErrorCode.KEYSTORE_INVALID,
        `directory ${root} has mode 0${mode}: others could replace the secret files in it; fix with: chmod 700 ${root}`,
      );
    },
  );

  it('refuses a path that is a file', () => {
    const file = join(root, 'f');
    writeFileSync(file, '');
    expectError(
      () => {
        checkSecretDir(file);
      },
      ErrorCode.KEYSTORE_INVALID,
      /is not a directory/,
    );
  });
});

describe('writeNewSecretFile', () => {
  it('writes the text to a new 0600 file and leaves no temp file', () => {
    const path = join(root, 'key');
    writeNewSecretFile(path, SECRET, WRITE);
    expect(readFileSync(path, 'utf8')).toBe(SECRET);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(root)).toEqual(['key']);
  });

  it('refuses to replace an existing file, names what it holds, and leaves it untouched', () => {
    const path = join(root, 'key');
    writeFileSync(path, 'old', { mode: 0o600 });
    expectError(
      () => {
        writeNewSecretFile(path, SECRET, WRITE);
      },
      ErrorCode.KEYSTORE_INVALID,
      `${path} already exists; refusing to replace a test secret (move the file away first if you mean to)`,
    );
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['key']);
  });

  it('refuses a name taken by a symbolic link, even a dangling one', () => {
    const path = join(root, 'key');
    symlinkSync(join(root, 'elsewhere'), path);
    expectError(
      () => {
        writeNewSecretFile(path, SECRET, WRITE);
      },
      ErrorCode.KEYSTORE_INVALID,
      /already exists/,
    );
    expect(readdirSync(root)).toEqual(['key']);
  });

  it('does not write into a directory others can write to', () => {
    chmodSync(root, 0o777);
    expectError(
      () => {
        writeNewSecretFile(join(root, 'key'), SECRET, WRITE);
      },
      ErrorCode.KEYSTORE_INVALID,
      `chmod 700 ${root}`,
    );
    expect(readdirSync(root)).toEqual([]);
  });

  it('fails on a temp name already taken, and leaves the file it found alone', () => {
    const tmp = join(root, `.key.${WRITE.randomSuffix}.tmp`);
    writeFileSync(tmp, 'not ours', { mode: 0o600 });
    expectError(
      () => {
        writeNewSecretFile(join(root, 'key'), SECRET, WRITE);
      },
      ErrorCode.KEYSTORE_INVALID,
      /cannot create .*\.tmp \(EEXIST\)/,
    );
    expect(readFileSync(tmp, 'utf8')).toBe('not ours');
  });

  const badOptions: [string, unknown, RegExp][] = [
    ['a suffix with a path in it', { ...WRITE, randomSuffix: '../../etc/x' }, /randomSuffix/],
    ['a short suffix', { ...WRITE, randomSuffix: 'abc' }, /randomSuffix/],
    ['an upper-case suffix', { ...WRITE, randomSuffix: '0123456789ABCDEF' }, /randomSuffix/],
    ['an empty description', { ...WRITE, what: '' }, /what/],
    ['an unknown option', { ...WRITE, mode: 0o644 }, /unknown option "mode"/],
  ];
  it.each(badOptions)('refuses %s (INVALID_ARGUMENT)', (_, options, pattern) => {
    expectError(
      () => {
        writeNewSecretFile(join(root, 'key'), SECRET, options as typeof WRITE);
      },
      ErrorCode.INVALID_ARGUMENT,
      pattern,
    );
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('assertNoSecretFile', () => {
  it('passes for a free name and refuses a taken one', () => {
    const path = join(root, 'key');
    expect(() => {
      assertNoSecretFile(path, 'a test secret');
    }).not.toThrow();
    mkdirSync(path);
    expectError(
      () => {
        assertNoSecretFile(path, 'a test secret');
      },
      ErrorCode.KEYSTORE_INVALID,
      /already exists; refusing to replace a test secret/,
    );
  });
});

describe('readSecretFile', () => {
  function write(mode = 0o600, text = SECRET): string {
    const path = join(root, 'key');
    writeNewSecretFile(path, text, WRITE);
    chmodSync(path, mode);
    return path;
  }

  it('reads back what writeNewSecretFile wrote', () => {
    expect(readSecretFile(write(), READ)).toBe(SECRET);
  });

  it.each(['400', '600', '700'])('accepts mode %s (owner only)', (mode) => {
    expect(readSecretFile(write(Number.parseInt(mode, 8)), READ)).toBe(SECRET);
  });

  it.each(['644', '640', '604', '660', '606', '610', '601'])(
    'refuses mode %s with the chmod that fixes it, without quoting the file',
    (mode) => {
      const path = write(Number.parseInt(mode, 8));
      const message = expectError(
        () => readSecretFile(path, READ),
        ErrorCode.KEYSTORE_INVALID,
        `${path} has mode 0${mode}, readable or writable by others; fix with: chmod 600 ${path}`,
      );
      expect(message).not.toContain('5ec2e7');
    },
  );

  it('a missing file says so, with the hint when one is given', () => {
    const path = join(root, 'nope');
    expectError(
      () => readSecretFile(path, { ...READ, missingHint: 'create it with: make-key' }),
      ErrorCode.KEYSTORE_INVALID,
      `${path} does not exist; create it with: make-key`,
    );
    expect(
      expectError(() => readSecretFile(path, READ), ErrorCode.KEYSTORE_INVALID, /does not exist/),
    ).toBe(`${path} does not exist`);
  });

  it('refuses a symbolic link, even to a good file', () => {
    const target = write();
    const link = join(root, 'link');
    symlinkSync(target, link);
    expectError(() => readSecretFile(link, READ), ErrorCode.KEYSTORE_INVALID, /symbolic link/);
  });

  it('refuses a directory', () => {
    const path = join(root, 'dir');
    mkdirSync(path, { mode: 0o700 });
    expectError(() => readSecretFile(path, READ), ErrorCode.KEYSTORE_INVALID, /not a regular file/);
  });

  it('refuses a file in a directory others can write to', () => {
    const path = write();
    chmodSync(root, 0o777);
    expectError(() => readSecretFile(path, READ), ErrorCode.KEYSTORE_INVALID, `chmod 700 ${root}`);
  });

  it('reads a file of exactly maxBytes and refuses one byte more', () => {
    const path = write(0o600, 'x'.repeat(100));
    expect(readSecretFile(path, { maxBytes: 100 })).toHaveLength(100);
    expectError(
      () => readSecretFile(path, { maxBytes: 99 }),
      ErrorCode.KEYSTORE_INVALID,
      `${path}: expected at most 99 bytes, got 100`,
    );
  });

  it.each([0, -1, 1.5, 2 * 1024 * 1024, Number.NaN])('refuses maxBytes = %s', (maxBytes) => {
    expectError(
      () => readSecretFile(write(), { maxBytes }),
      ErrorCode.INVALID_ARGUMENT,
      /maxBytes: expected an integer/,
    );
  });

  it('refuses an unknown option', () => {
    expectError(
      () => readSecretFile(write(), { ...READ, mode: 0o600 } as typeof READ),
      ErrorCode.INVALID_ARGUMENT,
      /unknown option "mode"/,
    );
  });
});

describe('writeNewFile (the primitive under writeNewSecretFile; the CLI writes its outputs with it)', () => {
  it('creates the file with the given mode, whole, in a folder others may write (no folder rule)', () => {
    chmodSync(root, 0o777);
    const path = join(root, 'manifest.json');
    writeNewFile(path, '{"a":1}\n', { ...WRITE, mode: 0o644 });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(statSync(path).mode & 0o022).toBe(0);
    expect(readdirSync(root)).toEqual(['manifest.json']);
  });

  it('never replaces an existing file, and leaves no temp file', () => {
    const path = join(root, 'cek.hex');
    writeFileSync(path, 'earlier\n');
    expectError(
      () => writeNewFile(path, 'later\n', { ...WRITE, mode: 0o600 }),
      ErrorCode.KEYSTORE_INVALID,
      `${path} already exists; refusing to replace a test secret`,
    );
    expect(readFileSync(path, 'utf8')).toBe('earlier\n');
    expect(readdirSync(root)).toEqual(['cek.hex']);
  });

  it.each([0o666, 0o620, 0o1000, -1, 1.5])('refuses mode 0%s (others could write it)', (mode) => {
    expectError(
      () => writeNewFile(join(root, 'x'), 'x', { ...WRITE, mode }),
      ErrorCode.INVALID_ARGUMENT,
      /^mode: expected/,
    );
  });
});

describe('readPrivateFile (the primitive under readSecretFile; the CLI reads key files with it)', () => {
  it('reads an owner-only file in a folder others may write (no folder rule)', () => {
    const path = join(root, 'wallet.key');
    writeFileSync(path, SECRET, { mode: 0o600 });
    chmodSync(root, 0o777);
    expect(readPrivateFile(path, READ)).toBe(SECRET);
  });

  it('refuses a file others may read, a symbolic link and a missing file, naming the fix', () => {
    const open = join(root, 'open.key');
    writeFileSync(open, SECRET);
    chmodSync(open, 0o644);
    expectError(() => readPrivateFile(open, READ), ErrorCode.KEYSTORE_INVALID, `chmod 600 ${open}`);
    const link = join(root, 'link.key');
    symlinkSync(open, link);
    expectError(() => readPrivateFile(link, READ), ErrorCode.KEYSTORE_INVALID, /symbolic link/);
    expectError(
      () => readPrivateFile(join(root, 'none.key'), READ),
      ErrorCode.KEYSTORE_INVALID,
      /does not exist/,
    );
  });
});
