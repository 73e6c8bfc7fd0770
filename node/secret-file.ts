// Secret files on disk: the node keystore, an admin's signing key. What every
// one of them needs, in one place:
//   - its directory is created 0700, and one that group or others can write to
//     is refused (they could rename a file of ours away and put theirs in);
//   - a new file is created 0600 from the start (O_CREAT|O_EXCL|O_NOFOLLOW on a
//     temp file, never chmod-ed later), fsynced, and hard-linked to its name:
//     link(2) fails if the name exists, so an existing secret is never
//     replaced, not even by a racing writer; then the directory is fsynced;
//   - a read opens without following a symbolic link and checks the opened
//     file itself (fstat, so nothing can be swapped in between): a regular
//     file, no group or other permission bits, within a size cap.
// Every failure is QkmsError KEYSTORE_INVALID whose message names the file and,
// where there is one, the command that fixes it. Messages never quote a
// file's content.
//
// The file primitives under the secret-file rules are the command line's too
// (cli/files.ts): writeNewFile (any owner-only-writable mode, e.g. a 0644
// manifest) and readPrivateFile (a key file), both without the directory rule,
// since the CLI writes and reads where its user says; writeFileAtomically for
// a public file that may be replaced.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, QkmsError, isQkmsError } from '../protocol/index.ts';
import { assertOptionsBag } from '../shamir/index.ts';

/** Mode of a directory we create for secrets: the owner only. */
export const SECRET_DIR_MODE = 0o700;
/** Mode of a secret file we create: the owner reads and writes, nobody else anything. */
export const SECRET_FILE_MODE = 0o600;
/** The largest read cap a caller may ask for: secret files are a few KB, a bigger cap is a mistake. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/** Mode bits that let anyone but the owner at a secret file. */
const GROUP_OTHER_BITS = 0o077;
/** Mode bits that let anyone but the owner add, remove or rename files in a directory. */
const GROUP_OTHER_WRITE_BITS = 0o022;
/** The temp file's random part: lower-case hex, enough that names never collide. */
const RANDOM_SUFFIX = /^[0-9a-f]{8,64}$/;
/** link(2) errors that mean "no hard links here" rather than a real failure. */
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

export interface WriteNewSecretFileOptions {
  /** Lower-case hex (8..64 chars) naming the temp file: fresh randomness from the caller's suite. */
  readonly randomSuffix: string;
  /** What the file holds, for the refusal when it exists: "a node identity", "an admin key". */
  readonly what: string;
}

export interface WriteNewFileOptions extends WriteNewSecretFileOptions {
  /** Permission bits of the new file: 0o600 for a secret, 0o644 for a public file. */
  readonly mode: number;
}

export interface ReadSecretFileOptions {
  /** Refuse a larger file (1..MAX_SECRET_FILE_BYTES). */
  readonly maxBytes: number;
  /** Appended when the file does not exist: how to create it. */
  readonly missingHint?: string;
}

function invalid(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.KEYSTORE_INVALID, message, { cause });
}

function argument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** The errno name of a failed fs call ("ENOENT"), else its message. */
function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : 'unknown error';
}

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function refuseOverwrite(path: string, what: string): QkmsError {
  return invalid(
    `${path} already exists; refusing to replace ${what} (move the file away first if you mean to)`,
  );
}

/** Refuses a directory that group or others can write to (they could replace the files in it). */
export function checkSecretDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw invalid(`cannot read directory ${dir} (${fsReason(e)})`, e);
  }
  if (!st.isDirectory()) throw invalid(`${dir} is not a directory`);
  if ((st.mode & GROUP_OTHER_WRITE_BITS) !== 0) {
    throw invalid(
      `directory ${dir} has mode ${modeText(st.mode)}: others could replace the secret files in it; fix with: chmod 700 ${dir}`,
    );
  }
}

/** Creates DIR (and its parents) 0700 if absent, then checks it as checkSecretDir does. */
export function prepareSecretDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: SECRET_DIR_MODE });
  } catch (e) {
    throw invalid(`cannot create directory ${dir} (${fsReason(e)})`, e);
  }
  checkSecretDir(dir);
}

/**
 * Throws the "already exists" refusal if anything (a file, a link, a directory)
 * is at PATH. An early, friendly check before generating a secret;
 * writeNewSecretFile checks again, atomically.
 */
export function assertNoSecretFile(path: string, what: string): void {
  try {
    lstatSync(path);
  } catch (e) {
    if (fsReason(e) === 'ENOENT') return;
    throw invalid(`cannot check ${path} (${fsReason(e)})`, e);
  }
  throw refuseOverwrite(path, what);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Not every platform can fsync a directory; the file itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes TEXT to a NEW file PATH, mode 0600, in a directory that must already
 * pass checkSecretDir. Refuses (KEYSTORE_INVALID) if PATH exists. Where hard
 * links are unsupported, falls back to check-then-rename.
 */
export function writeNewSecretFile(
  path: string,
  text: string,
  options: WriteNewSecretFileOptions,
): void {
  assertOptionsBag(options, 'writeNewSecretFile', ['randomSuffix', 'what'], argument);
  const { randomSuffix, what } = options;
  checkSecretDir(dirname(path));
  writeNewFile(path, text, { mode: SECRET_FILE_MODE, randomSuffix, what });
}

/**
 * Writes TEXT to a NEW file PATH, created with `mode`, whole or not at all: a
 * temp file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, the mode from the start,
 * never chmod-ed later), fsynced, hard-linked to PATH (link(2) fails if PATH
 * exists, so nothing is ever replaced, not even by a racing writer), removed;
 * then the directory is fsynced. Where hard links are unsupported, falls back
 * to check-then-rename. The directory is not checked: writeNewSecretFile does
 * that for the node's secrets; the CLI writes where its user says.
 * Refuses (KEYSTORE_INVALID) if PATH exists.
 */
export function writeNewFile(path: string, text: string, options: WriteNewFileOptions): void {
  assertOptionsBag(options, 'writeNewFile', ['mode', 'randomSuffix', 'what'], argument);
  const { mode, randomSuffix, what } = options;
  if (
    !Number.isInteger(mode) ||
    mode < 0 ||
    mode > 0o777 ||
    (mode & GROUP_OTHER_WRITE_BITS) !== 0
  ) {
    throw argument('mode: expected permission bits only the owner can write with (0o600, 0o644)');
  }
  if (typeof randomSuffix !== 'string' || !RANDOM_SUFFIX.test(randomSuffix)) {
    throw argument('randomSuffix: expected 8..64 lower-case hex characters');
  }
  if (typeof what !== 'string' || what === '') throw argument('what: expected a description');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomSuffix}.tmp`);
  const bytes = Buffer.from(text, 'utf8');
  // Only a temp file this call created is removed afterwards, never one it found.
  let created = false;
  try {
    let fd: number;
    try {
      fd = openSync(
        tmp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        mode,
      );
    } catch (e) {
      throw invalid(`cannot create ${tmp} (${fsReason(e)})`, e);
    }
    created = true;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (e) {
      const code = fsReason(e);
      if (code === 'EEXIST') throw refuseOverwrite(path, what);
      if (!NO_HARD_LINKS.includes(code)) throw invalid(`cannot create ${path} (${code})`, e);
      assertNoSecretFile(path, what);
      renameSync(tmp, path);
    }
    fsyncDir(dir);
  } catch (e) {
    if (isQkmsError(e)) throw e;
    throw invalid(`cannot write ${path} (${fsReason(e)})`, e);
  } finally {
    bytes.fill(0);
    if (created) rmSync(tmp, { force: true });
  }
}

/**
 * Reads a secret file as UTF-8 text, after checking its directory
 * (checkSecretDir) and the opened file itself (readPrivateFile): not a
 * symbolic link, a regular file, no group/other permission bits, at most
 * maxBytes.
 */
export function readSecretFile(path: string, options: ReadSecretFileOptions): string {
  assertOptionsBag(options, 'readSecretFile', ['maxBytes', 'missingHint'], argument);
  const { maxBytes, missingHint } = options;
  checkSecretDir(dirname(path));
  return readPrivateFile(
    path,
    missingHint === undefined ? { maxBytes } : { maxBytes, missingHint },
  );
}

/**
 * Reads, as UTF-8 text, a file only its owner may read: opened without
 * following a symbolic link, then the opened file itself checked (a regular
 * file, no group/other permission bits, at most maxBytes). The directory is
 * not checked: readSecretFile does that for the node's secrets; the CLI reads
 * key files where its user keeps them. Fails with KEYSTORE_INVALID naming the
 * file and, for a loose mode, the chmod that fixes it.
 */
export function readPrivateFile(path: string, options: ReadSecretFileOptions): string {
  assertOptionsBag(options, 'readPrivateFile', ['maxBytes', 'missingHint'], argument);
  const { maxBytes, missingHint } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_SECRET_FILE_BYTES) {
    throw argument(`maxBytes: expected an integer in [1, ${MAX_SECRET_FILE_BYTES}]`);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = fsReason(e);
    if (code === 'ENOENT') {
      throw invalid(
        `${path} does not exist${missingHint === undefined ? '' : `; ${missingHint}`}`,
        e,
      );
    }
    if (code === 'ELOOP') {
      throw invalid(`${path} is a symbolic link; a secret file must be a regular file`, e);
    }
    throw invalid(`cannot open ${path} (${code})`, e);
  }
  let bytes: Buffer | undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalid(`${path} is not a regular file`);
    if ((st.mode & GROUP_OTHER_BITS) !== 0) {
      throw invalid(
        `${path} has mode ${modeText(st.mode)}, readable or writable by others; fix with: chmod 600 ${path}`,
      );
    }
    if (st.size > maxBytes) {
      throw invalid(`${path}: expected at most ${maxBytes} bytes, got ${st.size}`);
    }
    // One byte more than allowed, so a file that grew since fstat is caught too.
    bytes = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw invalid(`${path}: expected at most ${maxBytes} bytes`);
    }
    return bytes.toString('utf8', 0, length);
  } catch (e) {
    if (isQkmsError(e)) throw e;
    throw invalid(`cannot read ${path} (${fsReason(e)})`, e);
  } finally {
    bytes?.fill(0);
    closeSync(fd);
  }
}

/**
 * Writes a PUBLIC file (a node set, a client config) whole or not at all: a
 * temp file beside it (mode 0644), renamed over it. `label` names the file in
 * the error (CONFIG_INVALID), e.g. "--out FILE".
 */
export function writeFileAtomically(
  path: string,
  text: string,
  options: { readonly randomSuffix: string; readonly label: string },
): void {
  if (!RANDOM_SUFFIX.test(options.randomSuffix)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'writeFileAtomically: randomSuffix: expected 8..64 lower-case hex',
    );
  }
  const tmp = join(dirname(path), `.${basename(path)}.${options.randomSuffix}.tmp`);
  let created = false;
  try {
    writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
    created = true;
    renameSync(tmp, path);
    created = false;
  } catch (e) {
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `${options.label}: cannot write (${fsReason(e)})`,
      { cause: e },
    );
  } finally {
    if (created) rmSync(tmp, { force: true });
  }
}
