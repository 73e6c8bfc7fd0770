// Shell completion: the bash script runs in a real bash (the function is
// called as bash's completion would, with COMP_WORDS and COMP_CWORD set, and
// COMPREPLY read back). zsh is not installed where these tests run, so its
// script is checked as text only.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CliIo, Command } from './io.ts';
import {
  bashScript,
  completionCommand,
  completionEntries,
  zshScript,
  type CompletionEntry,
} from './completion.ts';

const run = (): number => 0;
/** A table shaped like cli/commands/index.ts: one-word and two-word commands, flags declared. */
const GROUPS: Readonly<Record<string, Readonly<Record<string, Command>>>> = {
  node: {
    init: { summary: 'create the keystore', flags: { dir: 'string', json: 'boolean' }, run },
    status: { summary: "each node's health", flags: { quorum: 'string', json: 'boolean' }, run },
  },
  admin: {
    'key new': { summary: 'an admin key', flags: { out: 'string' }, run },
    'nodeset sign': { summary: 'sign', flags: { document: 'string' }, run },
    'nodeset show': { summary: 'show', flags: { nodeset: 'string' }, run },
  },
  content: {
    publish: { summary: 'publish', flags: { quorum: 'string', out: 'string' }, run },
    recover: {
      summary: 'recover',
      flags: {
        quorum: 'string',
        manifest: 'string',
        'wallet-key': 'string',
        out: 'string',
        json: 'boolean',
      },
      run,
    },
  },
};

function bashAvailable(): boolean {
  return spawnSync('bash', ['-c', 'true']).status === 0;
}

/** What the script offers for the command line WORDS, the last being the word under the cursor. */
function bashComplete(script: string, words: readonly string[]): string[] {
  const quoted = words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '--norc',
      '--noprofile',
      '-c',
      `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _qkms; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('qkms completion bash, in a real bash', () => {
  it.runIf(bashAvailable())('completes groups, two-word commands and each command’s flags', () => {
    const script = bashScript(completionEntries(GROUPS));
    expect(bashComplete(script, ['qkms', 'con'])).toEqual(['content']);
    expect(bashComplete(script, ['qkms', 'content', 'recover', '--ma'])).toEqual(['--manifest']);
    expect(bashComplete(script, ['qkms', ''])).toEqual(
      expect.arrayContaining(['node', 'admin', 'content', 'help', '--version']),
    );
    expect(bashComplete(script, ['qkms', 'admin', ''])).toEqual(['key', 'nodeset']);
    expect(bashComplete(script, ['qkms', 'admin', 'nodeset', 's']).sort()).toEqual([
      'show',
      'sign',
    ]);
    expect(bashComplete(script, ['qkms', 'admin', 'key', 'new', '--'])).toEqual([
      '--help',
      '--out',
    ]);
    // After a flag that takes a value, and after flags and values, still the right command.
    expect(bashComplete(script, ['qkms', 'content', 'recover', '--quorum', ''])).toEqual([]);
    expect(
      bashComplete(script, ['qkms', 'content', 'recover', '--quorum', 'q.json', '--w']),
    ).toEqual(['--wallet-key']);
    expect(bashComplete(script, ['qkms', 'nothing', ''])).toEqual([]);
  });

  it.runIf(bashAvailable())(
    'completes the real command table: `qkms con` and `qkms content recover --ma`',
    async () => {
      const { COMMANDS } = await import('./commands/index.ts');
      const out: string[] = [];
      const io: CliIo = {
        stdout: { write: (t: string) => out.push(t) },
        stderr: { write: () => undefined },
        env: {},
        cwd: '/',
        readFile: () => '',
      };
      expect(await completionCommand('bash', () => COMMANDS)([], io)).toBe(0);
      const script = out.join('');
      expect(bashComplete(script, ['qkms', 'con'])).toEqual(['content']);
      expect(bashComplete(script, ['qkms', 'content', 'recover', '--ma'])).toEqual(['--manifest']);
      expect(bashComplete(script, ['qkms', 'wallet', 's'])).toEqual(['show']);
      expect(bashComplete(script, ['qkms', 'completion', ''])).toEqual(['bash', 'zsh']);
    },
  );
});

describe('qkms completion zsh (zsh absent here: the text only)', () => {
  it('lists every command, its flags and those that take a value, and registers with compdef', () => {
    const entries = completionEntries(GROUPS);
    const script = zshScript(entries);
    expect(script.startsWith('#compdef qkms\n')).toBe(true);
    expect(script).toContain(
      'cmds=(node:init node:status admin:key:new admin:nodeset:sign admin:nodeset:show content:publish content:recover)',
    );
    expect(script).toContain(
      'content:recover) all=(--help --quorum --manifest --wallet-key --out --json); valued=(--quorum --manifest --wallet-key --out) ;;',
    );
    expect(script).toContain("node:status 'each node'\\''s health'");
    expect(script).toContain('compdef _qkms qkms');
    if (spawnSync('zsh', ['-c', 'true']).status === 0) {
      expect(spawnSync('zsh', ['-n', '-c', script]).status).toBe(0);
    }
  });
});

describe('the scripts hold only safe words', () => {
  it('leave out a command or flag name that is not [a-z0-9-]', () => {
    const entries: CompletionEntry[] = completionEntries({
      'bad;rm': { x: { summary: 's', flags: {}, run } },
      ok: {
        'cmd$(x)': { summary: 's', flags: {}, run },
        y: { summary: 's', flags: { 'a b': 'string', fine: 'boolean' }, run },
      },
    });
    expect(entries.map((e) => e.words.join(' '))).toEqual(['ok y']);
    expect(entries[0]?.flags).toEqual({ help: 'boolean', fine: 'boolean' });
  });
});
