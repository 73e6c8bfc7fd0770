// The dispatcher's promises, for every command in the table: each --help exits
// 0 and ends with the exit codes it can return (from the one table in
// exit.ts); `flags` is what the command parses; and a failure is reported one
// way everywhere: one line on stderr, or with --json one JSON object on
// stdout and nothing on stderr.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/support/cli.ts';
import { COMMANDS } from './commands/index.ts';
import { EXIT, EXIT_CODES_HEADING, EXIT_MEANINGS, exitCodeHelp } from './exit.ts';
import { CommandFailure, jsonLine, printJson, type CliIo, type Command } from './io.ts';
import { main } from './main.ts';

const cwd = mkdtempSync(join(tmpdir(), 'qkms-main-'));
afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const EVERY_COMMAND = Object.entries(COMMANDS).flatMap(([group, commands]) =>
  Object.entries(commands).map(([name, command]) => ({
    words: [group, ...name.split(' ')],
    command,
  })),
);
const ALL = EVERY_COMMAND.map((c) => [c.words.join(' '), c] as const);
const WITH_JSON = ALL.filter(([, c]) => c.command.flags.json === 'boolean');
const CODES: readonly number[] = Object.values(EXIT);

/** The argv that gives every flag of `flags` once (a value where it takes one). */
function everyFlag(command: Command): string[] {
  return Object.entries(command.flags).flatMap(([name, kind]) => {
    if (name === 'help') return [];
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    return kind === 'boolean' ? [flag] : [flag, 'x'];
  });
}

describe('every command', () => {
  it('is in the table with a summary and its flags, --help among them', () => {
    expect(EVERY_COMMAND.length).toBeGreaterThan(10);
    for (const { words, command } of EVERY_COMMAND) {
      expect(command.summary, words.join(' ')).not.toBe('');
      expect(command.flags.help, words.join(' ')).toBe('boolean');
    }
  });

  it.each(ALL)('qkms %s --help exits 0 and ends with its "Exit codes" section', async (_, c) => {
    const run = await runCli([...c.words, '--help'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const at = run.stdout.lastIndexOf(`\n${EXIT_CODES_HEADING}\n`);
    expect(at, 'an "Exit codes:" section').toBeGreaterThan(0);
    const lines = run.stdout
      .slice(at + EXIT_CODES_HEADING.length + 2)
      .trimEnd()
      .split('\n');
    const codes = lines.map((line) => {
      const match = /^ {2}(\d) {2}\S/.exec(line);
      expect(match, `a code and its meaning: ${JSON.stringify(line)}`).not.toBeNull();
      return Number(match?.[1]);
    });
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    for (const code of codes) expect(CODES).toContain(code);
    // Any command can fail unexpectedly or be misused.
    expect(codes).toEqual(expect.arrayContaining([EXIT.ok, EXIT.failure, EXIT.usage]));
  });

  it.each(ALL)(
    'qkms %s parses exactly its `flags`: each accepted, another refused',
    async (_, c) => {
      const accepted = await runCli([...c.words, ...everyFlag(c.command), '--help'], { cwd });
      expect(accepted.code, accepted.stderr).toBe(0);
      const refused = await runCli([...c.words, '--no-such-flag', '--help'], { cwd });
      expect(refused.code).toBe(EXIT.usage);
      expect(refused.stderr).toMatch(/--no-such-flag: unknown option/);
    },
  );

  it.each(ALL)(
    'qkms %s: a usage failure is one line on stderr, nothing on stdout',
    async (_, c) => {
      const run = await runCli([...c.words, '--no-such-flag'], { cwd });
      expect(run.code).toBe(EXIT.usage);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `qkms ${c.words.join(' ')}: --no-such-flag: unknown option (try 'qkms ${c.words.join(' ')} --help')\n`,
      );
    },
  );

  it.each(WITH_JSON)(
    'qkms %s --json: a usage failure is one JSON object on stdout, nothing on stderr',
    async (_, c) => {
      const run = await runCli([...c.words, '--json', '--no-such-flag'], { cwd });
      expect(run.code).toBe(EXIT.usage);
      expect(run.stderr).toBe('');
      expect(run.stdout.endsWith('\n')).toBe(true);
      expect(run.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(run.stdout)).toEqual({
        ok: false,
        exit: EXIT.usage,
        error: '--no-such-flag: unknown option',
      });
    },
  );
});

describe('a missing required option is a usage error (2) everywhere', () => {
  it.each([
    [['content', 'recover', '--quorum', 'q.json', '--wallet-key', 'w', '--out', 'o'], /--manifest/],
    [['node', 'start', '--nodeset', 'n.json'], /^qkms node start: dir: required/],
    [['node', 'init'], /--dir DIR: required/],
    [['audit', 'verify'], /--dir DIR: required/],
    [['admin', 'key', 'new'], /--out FILE: required/],
    [['wallet', 'new'], /--out: required/],
  ])('%j', async (argv, message) => {
    const run = await runCli(argv, { cwd });
    expect(run.code, run.stderr).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
  });

  it('while a malformed value in a config file is a configuration error (3)', async () => {
    const run = await runCli(['node', 'start', '--config', join(cwd, 'bad.json')], {
      cwd,
      env: {},
    });
    expect(run.code).toBe(EXIT.config);
    expect(run.stderr).toMatch(/^qkms node start: config file .*bad\.json: cannot read/);
  });
});

describe('--json failures from a command', () => {
  const out: { stdout: string; stderr: string } = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env: {},
    cwd,
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  const fake = (run: Command['run']): Command => ({
    summary: 'a test command',
    flags: { json: 'boolean', help: 'boolean' },
    run,
  });
  const groups = {
    test: {
      fail: fake(() => {
        throw new CommandFailure(EXIT.revoked, 'failed: revoked', {
          json: { reason: 'revoked', nodes: [{ index: 1, id: new Uint8Array([0xf5, 0x01]) }] },
          lines: ['  node 1  rejected (REVOKED)'],
        });
      }),
      crash: fake(() => {
        throw new Error('boom');
      }),
      bytes: fake((_argv, cio) => {
        printJson(cio, { ok: true, receipt: { signature: new Uint8Array([0xf5, 0, 0xab]) } });
        return EXIT.ok;
      }),
    },
  };
  const run = async (argv: readonly string[]): Promise<number> => {
    out.stdout = '';
    out.stderr = '';
    return main(argv, io, groups);
  };

  it('a CommandFailure: its code, its fields on stdout with --json; its lines on stderr without', async () => {
    expect(await run(['test', 'fail', '--json'])).toBe(EXIT.revoked);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      ok: false,
      exit: EXIT.revoked,
      error: 'failed: revoked',
      reason: 'revoked',
      nodes: [{ index: 1, id: 'f501' }],
    });
    expect(await run(['test', 'fail'])).toBe(EXIT.revoked);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe('qkms test fail: failed: revoked\n  node 1  rejected (REVOKED)\n');
  });

  it('an unexpected error: exit 1, the same two shapes', async () => {
    expect(await run(['test', 'crash', '--json'])).toBe(EXIT.failure);
    expect(JSON.parse(out.stdout)).toEqual({ ok: false, exit: EXIT.failure, error: 'boom' });
    expect(out.stderr).toBe('');
    expect(await run(['test', 'crash'])).toBe(EXIT.failure);
    expect(out.stderr).toBe('qkms test crash: failed: boom\n');
    expect(out.stdout).toBe('');
  });

  it('--json after `--` is an argument, not the flag', async () => {
    expect(await run(['test', 'crash', '--', '--json'])).toBe(EXIT.failure);
    expect(out.stdout).toBe('');
  });

  it('bytes print as hex, never as {"0":245,…}', async () => {
    expect(await run(['test', 'bytes', '--json'])).toBe(EXIT.ok);
    expect(out.stdout).toBe('{"ok":true,"receipt":{"signature":"f500ab"}}\n');
    expect(jsonLine({ b: Buffer.from([1, 2]) })).toBe('{"b":"0102"}\n');
  });
});

describe('exitCodeHelp', () => {
  it('lists the codes in order, once each, with the table meaning unless the command says better', () => {
    expect(exitCodeHelp([EXIT.usage, EXIT.ok, EXIT.usage], { [EXIT.ok]: 'created' })).toBe(
      `Exit codes:\n  0  created\n  2  ${EXIT_MEANINGS[EXIT.usage]}`,
    );
  });
});
