// The `qkms` command line: one dispatcher for the operator, publisher, player
// and admin commands. Each command lives in its own module and registers in
// ./commands/index.ts. Exit codes are ./exit.ts's, and a failure is reported
// the same way for every command (runCommand): one line on stderr, or with
// --json one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../node/index.ts';
import { ErrorCode, isQkmsError } from '../protocol/index.ts';
import { COMMANDS, type CommandGroups } from './commands/index.ts';
import { EXIT, type ExitCode } from './exit.ts';
import {
  CommandFailure,
  OutputFileError,
  jsonLine,
  processIo,
  type CliIo,
  type Command,
} from './io.ts';

const USAGE = `qkms — distributed threshold key management

Usage:
  qkms node <command>    run and manage a node (qkms node --help)
  qkms admin <command>   admin keys, node-set signing, revocations (qkms admin --help)
  qkms audit <command>   verify and read a node's custody audit log (qkms audit --help)
  qkms quorum up         run a local development quorum (qkms quorum up --help)
  qkms content <command> publish and recover content keys (qkms content --help)
  qkms wallet <command>  make a development wallet key, show a key file's address
  qkms completion SHELL  print a bash or zsh completion script
  qkms --version         print the version
  qkms help              this text

Every command's --help ends with the exit codes it returns. A failure prints
one line on stderr, or with --json {"ok": false, "exit": N, "error": "…"} on
stdout.

Guides: docs/operations.md (nodes), docs/integration.md (publishers, players).`;

function groupUsage(group: string, commands: Readonly<Record<string, Command>>): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(
    ([name, c]) => `  qkms ${group} ${name.padEnd(width)}   ${c.summary}`,
  );
  return `Usage: qkms ${group} <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nqkms ${group} <command> --help describes one.`;
}

function version(): string {
  const file = join(packageRoot(import.meta.url), 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  return pkg.version;
}

/** What a failed command reports: its exit code, its message, and what a CommandFailure adds. */
interface Failure {
  readonly exit: ExitCode;
  /** The message, as --json's "error" carries it. */
  readonly error: string;
  /** The stderr line after "qkms <command>: ". */
  readonly human: string;
  readonly json: Readonly<Record<string, unknown>>;
  readonly lines: readonly string[];
}

const CONFIG_CODES: readonly ErrorCode[] = [
  ErrorCode.CONFIG_INVALID,
  ErrorCode.INVALID_NODE_SET,
  ErrorCode.KEYSTORE_INVALID,
  ErrorCode.WRONG_PASSPHRASE,
];

function failureOf(name: string, e: unknown): Failure {
  const plain = (exit: ExitCode, error: string, human = error): Failure => ({
    exit,
    error,
    human,
    json: {},
    lines: [],
  });
  if (e instanceof CommandFailure) {
    return { exit: e.exit, error: e.message, human: e.message, json: e.json, lines: e.lines };
  }
  if (e instanceof OutputFileError) return plain(EXIT.output, e.message);
  if (isQkmsError(e, ErrorCode.INVALID_ARGUMENT)) {
    return plain(EXIT.usage, e.message, `${e.message} (try 'qkms ${name} --help')`);
  }
  if (isQkmsError(e) && CONFIG_CODES.includes(e.code)) return plain(EXIT.config, e.message);
  const reason = isQkmsError(e)
    ? `${e.code}: ${e.message}`
    : e instanceof Error
      ? e.message
      : String(e);
  return plain(EXIT.failure, reason, `failed: ${reason}`);
}

/** Whether the command prints --json and ARGV asks for it (before a `--`). */
function wantsJson(command: Command, argv: readonly string[]): boolean {
  if (command.flags.json !== 'boolean') return false;
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Runs a command and reports what it throws, the same way for every command
 * (cli/exit.ts): with --json one object {"ok": false, "exit": N, "error":
 * "…", …} on stdout and nothing on stderr; without, "qkms <command>: …" on
 * stderr. Resolves to the exit code.
 */
async function runCommand(
  name: string,
  command: Command,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  const json = wantsJson(command, argv);
  try {
    return await command.run(argv, io);
  } catch (e) {
    const f = failureOf(name, e);
    if (json) {
      const fixed = { ok: false, exit: f.exit, error: f.error };
      io.stdout.write(jsonLine({ ...fixed, ...f.json, ...fixed }));
    } else {
      io.stderr.write(`qkms ${name}: ${f.human}\n`);
      for (const line of f.lines) io.stderr.write(`${line}\n`);
    }
    return f.exit;
  }
}

const HELP_WORDS: readonly (string | undefined)[] = ['--help', '-h', 'help'];

/**
 * Runs `qkms GROUP <command> ARGS`, where a command name is one or two words
 * ("init", "key new"). `qkms GROUP [WORD] --help` prints the group's usage.
 */
async function runGroup(
  group: string,
  commands: Readonly<Record<string, Command>>,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  const [first, second] = argv;
  for (const words of [2, 1]) {
    if (argv.length < words) continue;
    const name = argv.slice(0, words).join(' ');
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command !== undefined) {
      return runCommand(`${group} ${name}`, command, argv.slice(words), io);
    }
  }
  // "key" in "key new": the first word of some command.
  const isPrefix =
    first !== undefined && Object.keys(commands).some((n) => n.startsWith(`${first} `));
  if (HELP_WORDS.includes(first) || (isPrefix && HELP_WORDS.includes(second))) {
    io.stdout.write(`${groupUsage(group, commands)}\n`);
    return EXIT.ok;
  }
  if (first === undefined || (isPrefix && second === undefined)) {
    io.stderr.write(`${groupUsage(group, commands)}\n`);
    return EXIT.usage;
  }
  const shown = isPrefix && second !== undefined ? `${first} ${second}` : first;
  io.stderr.write(`qkms ${group}: unknown command '${shown}' (try 'qkms ${group} --help')\n`);
  return EXIT.usage;
}

/** Runs the CLI and resolves to its exit code. Never rejects. */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo(),
  groups: CommandGroups = COMMANDS,
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case '--version':
    case 'version':
      io.stdout.write(`qkms ${version()} (node ${process.versions.node})\n`);
      return EXIT.ok;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    default: {
      const commands = Object.hasOwn(groups, command) ? groups[command] : undefined;
      if (commands !== undefined) return runGroup(command, commands, rest, io);
      io.stderr.write(`qkms: unknown command '${command}' (try 'qkms help')\n`);
      return EXIT.usage;
    }
  }
}
