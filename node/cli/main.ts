// The `qkms` command line: one dispatcher for the operator, publisher, player
// and admin commands. Each command lives in its own module and registers here.
// Exit codes: 0 success, 1 unexpected failure, 2 usage error, 3 configuration
// or keystore error (one-line reason on stderr).
import { readFileSync } from 'node:fs';
import { ErrorCode, isQkmsError } from '../../protocol/index.ts';
import { nodeInit } from './node-init.ts';
import { nodeStart } from './node-start.ts';

/** What a command touches of the outside world; injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of relative paths. */
  readonly cwd: string;
  /** Reads a whole UTF-8 file. */
  readonly readFile: (path: string) => string;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3 } as const;

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readFile: (path) => readFileSync(path, 'utf8'),
  };
}

const USAGE = `qkms — distributed threshold key management

Usage:
  qkms node <command>   run and manage a node (qkms node --help)
  qkms --version        print the version
  qkms help             this text

Commands for content and admins arrive with their issues; see docs/.`;

interface Command {
  readonly summary: string;
  readonly run: (argv: readonly string[], io: CliIo) => number | Promise<number>;
}

const NODE_COMMANDS: Readonly<Record<string, Command>> = {
  init: {
    summary: 'create the node keystore and print its public part for the admin',
    run: nodeInit,
  },
  start: {
    summary: 'run the node until SIGINT or SIGTERM',
    run: nodeStart,
  },
};

function nodeUsage(): string {
  const width = Math.max(...Object.keys(NODE_COMMANDS).map((n) => n.length));
  const lines = Object.entries(NODE_COMMANDS).map(
    ([name, c]) => `  qkms node ${name.padEnd(width)}   ${c.summary}`,
  );
  return `Usage: qkms node <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nqkms node <command> --help describes one.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs a command, turning what it throws into one stderr line and an exit code. */
async function runCommand(
  name: string,
  command: Command,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    return await command.run(argv, io);
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_ARGUMENT)) {
      io.stderr.write(`qkms ${name}: ${e.message} (try 'qkms ${name} --help')\n`);
      return EXIT.usage;
    }
    if (
      isQkmsError(e, ErrorCode.CONFIG_INVALID) ||
      isQkmsError(e, ErrorCode.KEYSTORE_INVALID) ||
      isQkmsError(e, ErrorCode.WRONG_PASSPHRASE)
    ) {
      io.stderr.write(`qkms ${name}: ${e.message}\n`);
      return EXIT.config;
    }
    const reason = isQkmsError(e)
      ? `${e.code}: ${e.message}`
      : e instanceof Error
        ? e.message
        : String(e);
    io.stderr.write(`qkms ${name}: failed: ${reason}\n`);
    return EXIT.failure;
  }
}

async function node(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(`${nodeUsage()}\n`);
    return EXIT.ok;
  }
  if (sub === undefined) {
    io.stderr.write(`${nodeUsage()}\n`);
    return EXIT.usage;
  }
  const command = Object.hasOwn(NODE_COMMANDS, sub) ? NODE_COMMANDS[sub] : undefined;
  if (command === undefined) {
    io.stderr.write(`qkms node: unknown command '${sub}' (try 'qkms node --help')\n`);
    return EXIT.usage;
  }
  return runCommand(`node ${sub}`, command, rest, io);
}

/** Runs the CLI and resolves to its exit code. Never rejects. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
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
    case 'node':
      return node(rest, io);
    default:
      io.stderr.write(`qkms: unknown command '${command}' (try 'qkms help')\n`);
      return EXIT.usage;
  }
}
