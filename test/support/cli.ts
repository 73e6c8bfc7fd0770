// Runs the `qkms` CLI in this process with captured output: what the CLI
// unit tests drive.
import { readFileSync } from 'node:fs';
import type { CliIo } from '../../cli/io.ts';
import { main } from '../../cli/main.ts';

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
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
