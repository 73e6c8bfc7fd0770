// Runs the `qkms` CLI in this process with captured output: what the CLI
// unit tests drive.
import { readFileSync } from 'node:fs';
import { CLIENT_COMMANDS } from '../../client/cli/index.ts';
import { main, type CliIo } from '../../node/cli/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(
  argv: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: options.env ?? {},
    cwd: options.cwd,
    readFile: (path) => readFileSync(path, 'utf8'),
  };
  // The client's groups too, as bin/qkms.ts merges them.
  const code = await main(argv, io, CLIENT_COMMANDS);
  return { code, stdout, stderr };
}
