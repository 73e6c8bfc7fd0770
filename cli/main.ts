// The `qkms` command line: one dispatcher for the operator, publisher, player
// and admin commands. Each command lives in its own module and registers here.
// Exit codes (./exit.ts): 0 success, 1 unexpected failure, 2 usage error,
// 3 configuration or keystore error, 8 (node start) an address or the data
// directory in use; a one-line reason on stderr.
import { readFileSync } from 'node:fs';
import { ErrorCode, isQkmsError } from '../protocol/index.ts';
import { COMMANDS, type CommandGroups } from './commands/index.ts';
import { EXIT, OutputFileError, processIo, type CliIo, type Command } from './io.ts';

const USAGE = `qkms — distributed threshold key management

Usage:
  qkms node <command>    run and manage a node (qkms node --help)
  qkms admin <command>   admin keys, node-set signing, revocations (qkms admin --help)
  qkms audit <command>   verify and read a node's custody audit log (qkms audit --help)
  qkms quorum up         run a local development quorum (qkms quorum up --help)
  qkms content <command> publish and recover content keys (qkms content --help)
  qkms wallet new        make a development wallet key
  qkms --version         print the version
  qkms help              this text

Guides: docs/operations.md (nodes), docs/integration.md (publishers, players).`;

function groupUsage(group: string, commands: Readonly<Record<string, Command>>): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(
    ([name, c]) => `  qkms ${group} ${name.padEnd(width)}   ${c.summary}`,
  );
  return `Usage: qkms ${group} <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nqkms ${group} <command> --help describes one.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
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
    if (e instanceof OutputFileError) {
      io.stderr.write(`qkms ${name}: ${e.message}\n`);
      return EXIT.output;
    }
    if (isQkmsError(e, ErrorCode.INVALID_ARGUMENT)) {
      io.stderr.write(`qkms ${name}: ${e.message} (try 'qkms ${name} --help')\n`);
      return EXIT.usage;
    }
    if (
      isQkmsError(e, ErrorCode.CONFIG_INVALID) ||
      isQkmsError(e, ErrorCode.INVALID_NODE_SET) ||
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
