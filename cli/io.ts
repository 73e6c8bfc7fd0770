// What a client command touches of the outside world (the same shape as the
// node's CLI io, so the one dispatcher in bin/qkms.ts runs both), its exit
// codes (one per failure class), and the small file helpers the commands
// share: output files are checked before a command does anything, written
// whole or not at all (a temp file hard-linked to its name), and never
// overwritten; secret files are created 0600; a secret file readable by
// others is refused.
import { randomBytes } from 'node:crypto';
import {
  constants,
  openSync,
  closeSync,
  writeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  renameSync,
  rmSync,
  statSync,
  readFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, QkmsError } from '../protocol/index.ts';

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

export interface Command {
  readonly summary: string;
  readonly run: (argv: readonly string[], io: CliIo) => number | Promise<number>;
}

/** An output file that cannot be created; the command exits EXIT.output (cli/main.ts). */
export class OutputFileError extends QkmsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONFIG_INVALID, message, options);
    this.name = 'OutputFileError';
  }
}

/** link(2) errors that mean "no hard links on this file system" rather than a real failure. */
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

function existsRefusal(label: string, full: string): OutputFileError {
  return new OutputFileError(`${label} ${full} already exists; refusing to overwrite it`);
}

/**
 * Checks, before a command does anything, that the output file PATH can be
 * created: nothing is there (a file, a link, a folder), and its folder
 * exists. `label` names it in the refusal ("--out"). The write checks again,
 * atomically. Returns the absolute path.
 */
export function checkNewOutput(io: CliIo, path: string, label: string): string {
  const full = resolve(io.cwd, path);
  try {
    lstatSync(full);
    throw existsRefusal(label, full);
  } catch (e) {
    if (e instanceof OutputFileError) throw e;
    // ENOTDIR: a file where the folder should be, reported below.
    if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR')
      throw new OutputFileError(`${label} ${full}: cannot check it (${errnoOf(e)})`, { cause: e });
  }
  const dir = dirname(full);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new OutputFileError(
      errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR'
        ? `${label} ${full}: the folder ${dir} does not exist`
        : `${label} ${full}: cannot use the folder ${dir} (${errnoOf(e)})`,
      { cause: e },
    );
  }
  if (!isDir) throw new OutputFileError(`${label} ${full}: ${dir} is not a folder`);
  return full;
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Not every platform can fsync a folder; the file itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes TEXT to a NEW file PATH, whole or not at all: a temp file beside it
 * (O_EXCL, created with `mode`, fsynced) is hard-linked to PATH — link(2)
 * fails if PATH exists, so nothing is ever overwritten, not even by a racing
 * writer — then removed. Where hard links are unsupported, falls back to
 * check-then-rename. Throws OutputFileError; returns the absolute path.
 */
export function writeNewFile(
  io: CliIo,
  path: string,
  text: string,
  options: { readonly mode: number; readonly label: string },
): string {
  const full = resolve(io.cwd, path);
  const dir = dirname(full);
  const tmp = join(dir, `.${basename(full)}.${randomBytes(8).toString('hex')}.tmp`);
  const bytes = Buffer.from(text, 'utf8');
  // Only a temp file this call created is removed, never one it found.
  let created = false;
  try {
    const fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      options.mode,
    );
    created = true;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, full);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') throw existsRefusal(options.label, full);
      if (!NO_HARD_LINKS.includes(errnoOf(e))) throw e;
      checkNewOutput(io, full, options.label);
      renameSync(tmp, full);
      created = false;
    }
    fsyncDir(dir);
    return full;
  } catch (e) {
    if (e instanceof OutputFileError) throw e;
    throw new OutputFileError(`${options.label} ${full}: cannot write it (${errnoOf(e)})`, {
      cause: e,
    });
  } finally {
    bytes.fill(0);
    if (created) rmSync(tmp, { force: true });
  }
}

export function configError(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.CONFIG_INVALID, message, { cause });
}

export function usageError(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Writes a NEW secret file, mode 0600 from the start, whole or not at all, never over an existing one. */
export function writeSecretFile(io: CliIo, path: string, text: string, label = '--out'): string {
  return writeNewFile(io, path, text, { mode: 0o600, label });
}

/** Reads a secret file, refusing one that others may read or write. */
export function readSecretFile(io: CliIo, path: string, what: string): string {
  const full = resolve(io.cwd, path);
  let mode: number;
  try {
    mode = statSync(full).mode;
  } catch (e) {
    throw configError(`${what} ${full}: cannot read it`, e);
  }
  if ((mode & 0o077) !== 0) {
    throw configError(
      `${what} ${full}: readable or writable by others (mode 0${(mode & 0o777).toString(8)}); fix with: chmod 600 ${full}`,
    );
  }
  return readFileSync(full, 'utf8');
}

/** A lower-case 0x-less hex line: the format of CEK files. */
export function parseHexLine(text: string, what: string, bytes: number): Uint8Array {
  const line = text.replace(/\r?\n$/, '').replace(/^0x/, '');
  if (!new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(line)) {
    throw configError(`${what}: expected one line of ${2 * bytes} hex digits`);
  }
  return Uint8Array.from(line.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** node:util parseArgs, strict, no positionals; a bad argument is a usage error. */
export function parseFlags<
  T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw usageError(e instanceof Error ? e.message : 'bad arguments');
  }
}

export function requiredFlag(value: string | boolean | undefined, flag: string): string {
  if (typeof value !== 'string' || value === '') throw usageError(`--${flag}: required`);
  return value;
}
