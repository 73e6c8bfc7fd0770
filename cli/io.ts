// What a command is and what it touches of the outside world: CliIo (injected,
// so tests run commands in-process), Command (its summary, its flags, its
// run), the errors a command throws and the exit code cli/main.ts gives each
// (usageError 2, configError 3, OutputFileError 7, CommandFailure its own),
// and the one way a command prints --json. Files are cli/files.ts's.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, QkmsError, toHex } from '../protocol/index.ts';
import type { ExitCode } from './exit.ts';

export { EXIT } from './exit.ts';

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

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readFile: (path) => readFileSync(path, 'utf8'),
  };
}

/** How a flag takes its value: `--name VALUE`, a bare `--name`, or `--name VALUE` repeated. */
export type FlagKind = 'string' | 'boolean' | 'list';

/**
 * A command's flags: name (without dashes) → kind. A one-letter name is a
 * short flag, given as `-n VALUE`; every other name is given as `--name`.
 * `-h` is `--help` wherever `help` is a flag. (cli/args.ts parses with it.)
 */
export type FlagSpecs = Readonly<Record<string, FlagKind>>;

export interface Command {
  readonly summary: string;
  /** Every flag the command accepts, exactly what its parser is given (shell completion reads it). */
  readonly flags: FlagSpecs;
  readonly run: (argv: readonly string[], io: CliIo) => number | Promise<number>;
}

/** A bad flag, argument or command, or a required option missing: exit 2. */
export function usageError(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** A configuration or input file (or a setting's value) that is missing, unsafe or malformed: exit 3. */
export function configError(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.CONFIG_INVALID, message, { cause });
}

/** An output file that cannot be created; the command exits EXIT.output (cli/main.ts). */
export class OutputFileError extends QkmsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONFIG_INVALID, message, options);
    this.name = 'OutputFileError';
  }
}

/**
 * A command that could not do its job and knows its exit code (a recover that
 * failed: 4, 5 or 6). cli/main.ts prints it as every failure is printed:
 * `message`, then `lines` on stderr, or with --json one object on stdout
 * carrying `json`'s fields too. Not a QkmsError: it is an outcome of the
 * command line, not of a library.
 */
export class CommandFailure extends Error {
  readonly exit: ExitCode;
  readonly json: Readonly<Record<string, unknown>>;
  readonly lines: readonly string[];

  constructor(
    exit: ExitCode,
    message: string,
    details: {
      readonly json?: Readonly<Record<string, unknown>>;
      readonly lines?: readonly string[];
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'CommandFailure';
    this.exit = exit;
    this.json = details.json ?? {};
    this.lines = details.lines ?? [];
  }
}

/** A lower-case 0x-less hex line: the format of CEK files. */
export function parseHexLine(text: string, what: string, bytes: number): Uint8Array {
  const line = text.replace(/\r?\n$/, '').replace(/^0x/, '');
  if (!new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(line)) {
    throw configError(`${what}: expected one line of ${2 * bytes} hex digits`);
  }
  return Uint8Array.from(line.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** The value of a required string flag; a missing or empty one is a usage error. */
export function requiredFlag(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw usageError(`--${flag}: required`);
  return value;
}

/** The absolute path a required file flag names (`flag` is "--out"); missing or empty: a usage error. */
export function requiredPath(io: CliIo, value: string | undefined, flag: string): string {
  if (value === undefined) throw usageError(`${flag} FILE: required`);
  if (value === '') throw usageError(`${flag}: expected a file, got ""`);
  return resolve(io.cwd, value);
}

/** Refuses positional arguments (the commands take flags only). */
export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) {
    throw usageError(`${JSON.stringify(positionals[0])}: unexpected argument`);
  }
}

/** A long hex string shortened for a person to compare (print the full value beside it, or in --json). */
export function abbreviate(hex: string): string {
  return `${hex.slice(0, 16)}…${hex.slice(-16)}`;
}

/**
 * JSON.stringify replacer: bytes (a receipt's signature, an id) as lower-case
 * hex, never {"0":245,…}. It looks at the holder's own value, since a
 * Buffer's toJSON has already run on `value`.
 */
function bytesAsHex(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Readonly<Record<string, unknown>>)[key];
  return raw instanceof Uint8Array ? toHex(raw) : value;
}

/** VALUE as one line of JSON, bytes as hex. */
export function jsonLine(value: object): string {
  return `${JSON.stringify(value, bytesAsHex)}\n`;
}

/**
 * Prints a command's --json result: one object on one line of stdout, with
 * `ok` (whether the command exits 0) first. Byte fields come out as hex.
 */
export function printJson(
  io: CliIo,
  value: { readonly ok: boolean } & Readonly<Record<string, unknown>>,
): void {
  const { ok, ...rest } = value;
  io.stdout.write(jsonLine({ ok, ...rest }));
}
