// What a client command touches of the outside world (the same shape as the
// node's CLI io, so the one dispatcher in bin/qkms.ts runs both), its exit
// codes (one per failure class), and the small file helpers the commands
// share: secret files are created 0600 and never overwritten; a secret file
// readable by others is refused.
import {
  constants,
  openSync,
  closeSync,
  writeSync,
  fsyncSync,
  statSync,
  readFileSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, QkmsError } from '../../protocol/index.ts';

export interface ClientCliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly readFile: (path: string) => string;
}

export interface ClientCommand {
  readonly summary: string;
  readonly run: (argv: readonly string[], io: ClientCliIo) => number | Promise<number>;
}

/** Exit codes of the client commands: one per failure class. */
export const CLIENT_EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** A quorum, wallet key, manifest or CEK file is missing, unsafe or malformed. */
  config: 3,
  /** Fewer than t nodes answered with good shares (down, slow, lying). */
  unavailable: 4,
  /** Nodes refused: the access policy, the delegation or a capability does not allow it. */
  denied: 5,
  /** The wallet, session, delegation or content is revoked. */
  revoked: 6,
} as const;

export function configError(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.CONFIG_INVALID, message, { cause });
}

export function usageError(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Writes a NEW file with mode 0600 from the start (O_EXCL: an existing file is never replaced). */
export function writeSecretFile(io: ClientCliIo, path: string, text: string): string {
  const full = resolve(io.cwd, path);
  let fd: number;
  try {
    fd = openSync(
      full,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EEXIST') throw configError(`${full} already exists; refusing to overwrite it`);
    throw configError(`cannot create ${full} (${typeof code === 'string' ? code : 'error'})`, e);
  }
  const bytes = Buffer.from(text, 'utf8');
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
  } finally {
    bytes.fill(0);
    closeSync(fd);
  }
  return full;
}

/** Reads a secret file, refusing one that others may read or write. */
export function readSecretFile(io: ClientCliIo, path: string, what: string): string {
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
