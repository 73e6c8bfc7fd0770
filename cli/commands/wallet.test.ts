// `qkms wallet show FILE`: the address of a key file, never the key; an
// unsafe or malformed file is refused.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/index.ts';
import type { CliIo } from '../io.ts';
import { walletNew, walletShow } from './wallet.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkms-wallet-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function capture(): { io: CliIo; out: string[] } {
  const out: string[] = [];
  return {
    out,
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => out.push(t) },
      env: {},
      cwd: dir,
      readFile: (p) => readFileSync(p, 'utf8'),
    },
  };
}

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('qkms wallet show', () => {
  it('prints the address `wallet new` printed, and --json, never the key', () => {
    const made = capture();
    expect(walletNew(['--out', 'w.key', '--json'], made.io)).toBe(0);
    const { address } = JSON.parse(made.out.join('')) as { address: string };
    const key = readFileSync(join(dir, 'w.key'), 'utf8').trim();

    const shown = capture();
    expect(walletShow(['w.key'], shown.io)).toBe(0);
    expect(shown.out.join('')).toBe(`wallet ${address}\nkey file: ${join(dir, 'w.key')}\n`);
    const json = capture();
    expect(walletShow(['w.key', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join(''))).toEqual({
      ok: true,
      address,
      keyFile: join(dir, 'w.key'),
    });
    const everything = shown.out.join('') + json.out.join('');
    expect(everything).not.toContain(key.slice(2));
    expect(everything.toLowerCase()).not.toContain(key.slice(2, 18).toLowerCase());
  });

  it('refuses a key file others may read, like the files `wallet new` writes', () => {
    writeFileSync(join(dir, 'open.key'), `0x${'11'.repeat(32)}\n`);
    chmodSync(join(dir, 'open.key'), 0o644);
    const { io, out } = capture();
    expect(() => walletShow(['open.key'], io)).toThrow(code(ErrorCode.CONFIG_INVALID));
    expect(() => walletShow(['open.key'], io)).toThrow(/chmod 600/);
    expect(out).toEqual([]);
  });

  it.each([
    ['no file', [], ErrorCode.INVALID_ARGUMENT],
    ['two files', ['a.key', 'b.key'], ErrorCode.INVALID_ARGUMENT],
    ['an unknown flag', ['w.key', '--out', 'x'], ErrorCode.INVALID_ARGUMENT],
    ['a missing file', ['missing.key'], ErrorCode.CONFIG_INVALID],
  ])('refuses %s', (_what, argv, expected) => {
    expect(() => walletShow(argv, capture().io)).toThrow(code(expected));
  });

  it('refuses a file that is not a key', () => {
    writeFileSync(join(dir, 'bad.key'), 'not a key\n', { mode: 0o600 });
    expect(() => walletShow(['bad.key'], capture().io)).toThrow(code(ErrorCode.CONFIG_INVALID));
  });
});
