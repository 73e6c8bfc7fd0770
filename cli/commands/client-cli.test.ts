// The client commands' input handling: policies, key files, and that secrets
// go only to 0600 files (the cli/files.ts kit on node/secret-file.ts).
import {
  chmodSync,
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
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, policyToJson } from '../../protocol/index.ts';
import { parsePolicy } from './content-policy.ts';
import { checkNewOutput, loadWallet, readKeyFile, writeNewOutput } from '../files.ts';
import { OutputFileError, type CliIo } from '../io.ts';
import { walletNew } from './wallet.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkms-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const out: string[] = [];
const io: CliIo = {
  stdout: { write: (t: string) => out.push(t) },
  stderr: { write: (t: string) => out.push(t) },
  env: {},
  cwd: dir,
  readFile: (p) => readFileSync(p, 'utf8'),
};
const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('--policy', () => {
  it('parses open, publisher-only and allowlists, and refuses anything else as a usage error', () => {
    expect(parsePolicy(undefined, io)).toEqual({ kind: 'open' });
    expect(parsePolicy('publisher-only', io)).toEqual({ kind: 'publisher-only' });
    const list = parsePolicy(`allowlist:0x${'11'.repeat(20)},0x${'ab'.repeat(20)}`, io);
    expect(list.kind === 'allowlist' ? list.addresses.length : 0).toBe(2);
    for (const bad of [
      'everyone',
      'allowlist:',
      'allowlist:0x1234',
      `allowlist:${'11'.repeat(20)}`,
    ]) {
      expect(() => parsePolicy(bad, io), bad).toThrow(code(ErrorCode.INVALID_ARGUMENT));
    }
  });
});

describe('--policy FILE.json', () => {
  const contract = `0x${'c0'.repeat(20)}`;
  const pass = {
    kind: 'evm-balance',
    chain: 31337,
    standard: 'erc1155',
    contract,
    tokenId: ':contentId',
    comparator: '>=',
    value: '1',
  };

  it('reads a condition file into the policy every node decodes', () => {
    writeFileSync(
      join(dir, 'pass.json'),
      JSON.stringify({ kind: 'or', conditions: [pass, { kind: 'publisher-only' }] }),
    );
    const policy = parsePolicy('pass.json', io);
    expect(policy.kind).toBe('or');
    expect(policyToJson(policy)).toEqual({
      kind: 'or',
      conditions: [pass, { kind: 'publisher-only' }],
    });
  });

  it('refuses a file with an unknown field, a bad value or too deep a tree, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...pass, extra: 1 }, /policy: expected no field "extra"/],
      [{ ...pass, comparator: '=~' }, /policy\.comparator/],
      [{ ...pass, standard: 'erc20' }, /policy\.tokenId: expected no token id for erc20/],
      [
        {
          kind: 'not',
          condition: {
            kind: 'not',
            condition: {
              kind: 'not',
              condition: { kind: 'not', condition: { kind: 'not', condition: pass } },
            },
          },
        },
        /at most 5 deep/,
      ],
    ];
    for (const [json, message] of cases) {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify(json));
      expect(() => parsePolicy('bad.json', io)).toThrow(message);
      expect(() => parsePolicy('bad.json', io)).toThrow(code(ErrorCode.CONFIG_INVALID));
    }
  });
});

describe('secret files', () => {
  it('wallet new writes a 0600 key file, never overwrites it, and prints only the address', () => {
    expect(walletNew(['--out', 'w.key'], io)).toBe(0);
    const key = readFileSync(join(dir, 'w.key'), 'utf8');
    expect(key).toMatch(/^0x[0-9a-f]{64}\n$/);
    expect(statSync(join(dir, 'w.key')).mode & 0o777).toBe(0o600);
    expect(out.join('')).not.toContain(key.trim().slice(2));
    expect(out.join('')).toContain(loadWallet(io, 'w.key').address);
    expect(() => walletNew(['--out', 'w.key'], io)).toThrow(OutputFileError);
  });

  it('refuses to read a key file others can read, naming the fix', () => {
    writeFileSync(join(dir, 'open.key'), `0x${'22'.repeat(32)}\n`, { mode: 0o644 });
    chmodSync(join(dir, 'open.key'), 0o644);
    expect(() => readKeyFile(io, 'open.key', 'wallet key')).toThrow(
      /^wallet key: .*open\.key has mode 0644, readable or writable by others; fix with: chmod 600 /,
    );
    expect(() => loadWallet(io, 'open.key')).toThrow(code(ErrorCode.CONFIG_INVALID));
  });

  it('refuses a key file that is a symbolic link, or missing, as a configuration error', () => {
    writeFileSync(join(dir, 'real.key'), `0x${'33'.repeat(32)}\n`, { mode: 0o600 });
    symlinkSync(join(dir, 'real.key'), join(dir, 'link.key'));
    expect(() => readKeyFile(io, 'link.key', 'wallet key')).toThrow(/symbolic link/);
    expect(() => readKeyFile(io, 'link.key', 'wallet key')).toThrow(code(ErrorCode.CONFIG_INVALID));
    expect(() => readKeyFile(io, 'none.key', 'CEK file')).toThrow(/^CEK file: .*does not exist/);
  });

  it('writes new secret files 0600 and refuses an existing one, naming the flag', () => {
    const path = writeNewOutput(io, 'cek.hex', 'ab\n', { label: '--cek-out', secret: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() =>
      writeNewOutput(io, 'cek.hex', 'cd\n', { label: '--cek-out', secret: true }),
    ).toThrow(/^--cek-out .*cek\.hex already exists; refusing to overwrite it$/);
    expect(readFileSync(path, 'utf8')).toBe('ab\n');
  });
});

describe('output files', () => {
  it('checkNewOutput refuses, naming the flag, an existing file, a dangling link, a missing folder and a file used as a folder', () => {
    writeFileSync(join(dir, 'taken.json'), 'x');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.json'));
    const cases: [string, RegExp][] = [
      ['taken.json', /^--out .*taken\.json already exists; refusing to overwrite it$/],
      ['dangling.json', /dangling\.json already exists/],
      ['missing/m.json', /^--out .*m\.json: the folder .*missing does not exist$/],
      ['taken.json/m.json', /^--out .*m\.json: .*taken\.json is not a folder$/],
    ];
    for (const [path, message] of cases) {
      expect(() => checkNewOutput(io, path, '--out'), path).toThrow(message);
      expect(() => checkNewOutput(io, path, '--out'), path).toThrow(OutputFileError);
    }
    expect(checkNewOutput(io, 'free.json', '--out')).toBe(join(dir, 'free.json'));
  });

  it('writeNewOutput writes the whole text, 0644 when public, never over an existing file, and leaves no temp file', () => {
    const path = writeNewOutput(io, 'new.json', '{"a":1}\n', { label: '--out', secret: false });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    // 0644 less the umask: nobody else may write it, and it is not a secret.
    expect(statSync(path).mode & 0o133).toBe(0);
    expect(statSync(path).mode & 0o600).toBe(0o600);
    expect(() =>
      writeNewOutput(io, 'new.json', 'other', { label: '--out', secret: false }),
    ).toThrow(/new\.json already exists; refusing to overwrite it/);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(() =>
      writeNewOutput(io, 'missing/x.json', 'x', { label: '--out', secret: false }),
    ).toThrow(OutputFileError);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
