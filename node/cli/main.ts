// The `qkms` command line: one dispatcher for the operator, publisher, player
// and admin commands. Each command lives in its own module and registers here.
import { readFileSync } from 'node:fs';

const USAGE = `qkms — distributed threshold key management

Usage:
  qkms --version        print the version
  qkms help             this text

Commands for nodes, content and admins arrive with their issues; see docs/.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI and returns its exit code. Never throws. */
export function main(argv: readonly string[]): number {
  const [command] = argv;
  switch (command) {
    case '--version':
    case 'version':
      process.stdout.write(`qkms ${version()} (node ${process.versions.node})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`qkms: unknown command '${command}' (try 'qkms help')\n`);
      return 2;
  }
}
