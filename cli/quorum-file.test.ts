// Which quorum file a client command uses: --quorum > QKMS_QUORUM > the user
// config file; the user config's own checks; and that `node start` accepts a
// shell that sets QKMS_QUORUM.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.ts';
import type { CliIo } from './io.ts';
import { NODE_ENV_VARS, parseNodeOptions } from './node-options.ts';
import { QUORUM_ENV, resolveQuorumFile } from './quorum-file.ts';
import { readUserConfig, userConfigPath } from './user-config.ts';

const root = mkdtempSync(join(tmpdir(), 'qkms-quorum-file-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function ioWith(env: Record<string, string>, cwd = root): CliIo {
  return {
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
    env,
    cwd,
    readFile: (p) => readFileSync(p, 'utf8'),
  };
}

/** A fresh XDG_CONFIG_HOME holding qkms/config.json with TEXT (mode 0600), or none. */
function configHome(text?: string, mode = 0o600): string {
  const home = mkdtempSync(join(root, 'xdg-'));
  if (text !== undefined) {
    mkdirSync(join(home, 'qkms'));
    writeFileSync(join(home, 'qkms', 'config.json'), text, { mode });
    chmodSync(join(home, 'qkms', 'config.json'), mode);
  }
  return home;
}

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('resolveQuorumFile', () => {
  it('takes --quorum over QKMS_QUORUM over the user config, relative paths from the working directory', () => {
    const xdg = configHome('{"quorum": "/from/config.json"}');
    const env = { XDG_CONFIG_HOME: xdg, [QUORUM_ENV]: 'env.json' };
    expect(resolveQuorumFile(ioWith(env), 'flag.json')).toEqual({
      path: join(root, 'flag.json'),
      origin: '--quorum',
    });
    expect(resolveQuorumFile(ioWith(env), undefined)).toEqual({
      path: join(root, 'env.json'),
      origin: QUORUM_ENV,
    });
    expect(resolveQuorumFile(ioWith({ XDG_CONFIG_HOME: xdg }), undefined)).toEqual({
      path: '/from/config.json',
      origin: `user config ${join(xdg, 'qkms', 'config.json')}`,
    });
  });

  it('with none of the three, is a usage error (exit 2) that names all three', () => {
    const xdg = configHome();
    const run = (): unknown => resolveQuorumFile(ioWith({ XDG_CONFIG_HOME: xdg }), undefined);
    expect(run).toThrow(code(ErrorCode.INVALID_ARGUMENT));
    expect(run).toThrow(
      `no quorum file: give --quorum FILE, set QKMS_QUORUM=FILE, or write {"quorum": "FILE"} in ${join(xdg, 'qkms', 'config.json')}`,
    );
  });

  it('does not read the user config when the flag or the variable names the file, so a broken one does not matter', () => {
    const xdg = configHome('{not json');
    expect(resolveQuorumFile(ioWith({ XDG_CONFIG_HOME: xdg }), 'q.json').origin).toBe('--quorum');
    expect(
      resolveQuorumFile(ioWith({ XDG_CONFIG_HOME: xdg, [QUORUM_ENV]: '/q.json' }), undefined)
        .origin,
    ).toBe(QUORUM_ENV);
    expect(() => resolveQuorumFile(ioWith({ XDG_CONFIG_HOME: xdg }), undefined)).toThrow(
      code(ErrorCode.CONFIG_INVALID),
    );
  });

  it('refuses an empty --quorum (usage) and an empty QKMS_QUORUM (configuration)', () => {
    expect(() => resolveQuorumFile(ioWith({}), '')).toThrow(code(ErrorCode.INVALID_ARGUMENT));
    expect(() => resolveQuorumFile(ioWith({ [QUORUM_ENV]: '' }), undefined)).toThrow(
      /^QKMS_QUORUM: is set but empty$/,
    );
  });
});

describe('the user config file', () => {
  it('lives in $XDG_CONFIG_HOME/qkms, else ~/.config/qkms (a relative XDG_CONFIG_HOME is ignored, as the spec says)', () => {
    expect(userConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/qkms/config.json');
    expect(userConfigPath({ HOME: '/h' })).toBe('/h/.config/qkms/config.json');
    expect(userConfigPath({ XDG_CONFIG_HOME: '', HOME: '/h' })).toBe('/h/.config/qkms/config.json');
    expect(userConfigPath({ XDG_CONFIG_HOME: 'rel', HOME: '/h' })).toBe(
      '/h/.config/qkms/config.json',
    );
    expect(userConfigPath({})).toBe(join(homedir(), '.config', 'qkms', 'config.json'));
  });

  it('is optional, and a relative "quorum" is relative to the file\'s folder', () => {
    expect(readUserConfig(ioWith({ XDG_CONFIG_HOME: configHome() }))).toBeUndefined();
    const xdg = configHome('{"quorum": "q/quorum.json"}');
    expect(readUserConfig(ioWith({ XDG_CONFIG_HOME: xdg }))?.quorum).toBe(
      join(xdg, 'qkms', 'q', 'quorum.json'),
    );
    expect(readUserConfig(ioWith({ XDG_CONFIG_HOME: configHome('{}') }))?.quorum).toBeUndefined();
  });

  it.each([
    [
      'an unknown key (a typo)',
      '{"qourum": "/q.json"}',
      /key "qourum" is not a setting \(known: quorum\)$/,
    ],
    ['not JSON', '{"quorum": ', /: not valid JSON$/],
    ['not an object', '["/q.json"]', /: expected a JSON object/],
    ['a quorum that is not a path', '{"quorum": 5}', /: "quorum": expected a file path$/],
    ['an empty quorum', '{"quorum": ""}', /: "quorum": expected a file path$/],
    ['too large', `{"quorum": "${'a'.repeat(20_000)}"}`, /: expected at most 16384 characters/],
  ])('refuses %s, naming the file', (_what, text, message) => {
    const xdg = configHome(text);
    const run = (): unknown => readUserConfig(ioWith({ XDG_CONFIG_HOME: xdg }));
    expect(run).toThrow(code(ErrorCode.CONFIG_INVALID));
    expect(run).toThrow(join(xdg, 'qkms', 'config.json'));
    expect(run).toThrow(message);
  });

  it('refuses a file others may write (they could point publishes at their nodes), and accepts one they may only read', () => {
    const writable = configHome('{"quorum": "/q.json"}', 0o666);
    expect(() => readUserConfig(ioWith({ XDG_CONFIG_HOME: writable }))).toThrow(
      /writable by others \(mode 0666\).*chmod 600/,
    );
    const readable = configHome('{"quorum": "/q.json"}', 0o644);
    expect(readUserConfig(ioWith({ XDG_CONFIG_HOME: readable }))?.quorum).toBe('/q.json');
  });
});

describe('`node start` in a shell that sets QKMS_QUORUM', () => {
  const argv = ['--dir', '/srv/node', '--nodeset', '/srv/nodeset.json'];
  const readFile = (): string => {
    throw new Error('no files');
  };

  it('accepts and ignores QKMS_QUORUM, and still refuses an unknown QKMS_* variable', () => {
    expect(NODE_ENV_VARS).toContain(QUORUM_ENV);
    const parsed = parseNodeOptions({ argv, env: { [QUORUM_ENV]: '/q.json' }, readFile });
    expect(parsed.options.dir).toBe('/srv/node');
    expect(() => parseNodeOptions({ argv, env: { QKMS_QUORUMM: '/q.json' }, readFile })).toThrow(
      /^QKMS_QUORUMM: not a qkms node setting/,
    );
  });
});
