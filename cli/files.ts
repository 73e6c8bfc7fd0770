// The files of the commands, one kit on node/secret-file.ts's primitives:
//   - output files: checked before a command does anything (nothing there,
//     its folder exists), written whole or not at all (a temp file
//     hard-linked to its name) and never over an existing file, a secret one
//     0600 from the start; any failure is OutputFileError (exit 7);
//   - key files (wallet keys, CEKs): refused when others may read or write
//     them, or when they are a symbolic link (exit 3);
//   - a public file replaced whole (a node set, a client config);
// and what the client commands read: the quorum file made by `qkms quorum up`
// (or an operator), manifests, wallet keys.
import { randomBytes } from 'node:crypto';
import { lstatSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  decodeCanonical,
  encodeCanonical,
  fromHex,
  isQkmsError,
  manifestFromCbor,
  manifestToCbor,
  parseSignedNodeSetJson,
  toHex,
  type CryptoSuite,
  type Manifest,
  type NodeSet,
} from '../protocol/internal.ts';
import { readPrivateFile, writeFileAtomically, writeNewFile } from '../node/index.ts';
import { walletFromPrivateKey, type WalletSigner } from '../client/index.ts';
import { OutputFileError, configError, parseHexLine, type CliIo } from './io.ts';

/** Random bytes naming a temp file beside the one being written. */
const TEMP_SUFFIX_BYTES = 8;
/** A key file (a wallet key, a CEK) is one line of hex: anything this large is not one. */
const MAX_KEY_FILE_BYTES = 4096;
/** Modes of the output files a command creates. */
const SECRET_MODE = 0o600;
const PUBLIC_MODE = 0o644;

function tempSuffix(): string {
  return randomBytes(TEMP_SUFFIX_BYTES).toString('hex');
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/**
 * Checks, before a command does anything, that the output file PATH can be
 * created: nothing is there (a file, a link, a folder), and its folder
 * exists. `label` names it in the refusal ("--out"). The write checks again,
 * atomically. Returns the absolute path.
 */
/** Whether two paths name the same existing file (links included). */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export function checkNewOutput(io: CliIo, path: string, label: string): string {
  const full = resolve(io.cwd, path);
  let taken = true;
  try {
    lstatSync(full);
  } catch (e) {
    // ENOTDIR: a file where the folder should be, reported below.
    if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR')
      throw new OutputFileError(`${label} ${full}: cannot check it (${errnoOf(e)})`, { cause: e });
    taken = false;
  }
  if (taken) throw new OutputFileError(`${label} ${full} already exists; refusing to overwrite it`);
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

/**
 * Writes TEXT to the NEW output file PATH (checkNewOutput, then
 * node/secret-file.ts writeNewFile): mode 0600 when `secret`, else 0644;
 * whole or not at all; never over a file, even one that appeared since the
 * check. Throws OutputFileError naming `label`; returns the absolute path.
 */
export function writeNewOutput(
  io: CliIo,
  path: string,
  text: string,
  options: { readonly label: string; readonly secret: boolean },
): string {
  const full = checkNewOutput(io, path, options.label);
  try {
    writeNewFile(full, text, {
      mode: options.secret ? SECRET_MODE : PUBLIC_MODE,
      randomSuffix: tempSuffix(),
      what: 'it',
    });
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.KEYSTORE_INVALID)) throw e;
    throw new OutputFileError(`${options.label}: ${e.message}`, { cause: e });
  }
  return full;
}

/**
 * The text of a key file (a wallet key, a CEK) that only its owner may read
 * (node/secret-file.ts readPrivateFile: no symbolic link, no group or other
 * permission bits; the message says the chmod that fixes it). `what` starts
 * every error ("wallet key"): CONFIG_INVALID, exit 3.
 */
export function readKeyFile(io: CliIo, path: string, what: string): string {
  try {
    return readPrivateFile(resolve(io.cwd, path), { maxBytes: MAX_KEY_FILE_BYTES });
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.KEYSTORE_INVALID)) throw e;
    throw configError(`${what}: ${e.message}`, e);
  }
}

/**
 * Writes the public file PATH (absolute) whole or not at all, replacing what
 * is there (node/secret-file.ts writeFileAtomically); `label` starts the
 * error ("--out FILE"). For files a command owns: a node set it re-signs,
 * a dev quorum's config.
 */
export function replacePublicFile(path: string, text: string, label: string): void {
  writeFileAtomically(path, text, { randomSuffix: tempSuffix(), label });
}

export function readJson(io: CliIo, path: string, what: string): unknown {
  let text: string;
  try {
    text = io.readFile(resolve(io.cwd, path));
  } catch (e) {
    throw configError(`${what} ${path}: cannot read it`, e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw configError(`${what} ${path}: not valid JSON`);
  }
}

/** The node set from a quorum file ({"qkmsQuorum": 1, "nodeSet": <signed node set>, …}) or a bare signed node-set file. */
export function loadNodeSet(io: CliIo, suite: CryptoSuite, path: string): NodeSet {
  return loadSignedNodeSet(io, suite, path).set;
}

/** loadNodeSet, with the signed node-set file's JSON text (what a handover request carries). */
export function loadSignedNodeSet(
  io: CliIo,
  suite: CryptoSuite,
  path: string,
): { set: NodeSet; text: string } {
  const json = readJson(io, path, 'quorum file');
  const signed =
    typeof json === 'object' && json !== null && 'qkmsQuorum' in json
      ? (json as { nodeSet?: unknown }).nodeSet
      : json;
  const text = JSON.stringify(signed);
  try {
    return { set: parseSignedNodeSetJson(suite, text), text };
  } catch (e) {
    throw configError(
      `quorum file ${path}: ${e instanceof Error ? e.message : 'invalid node set'}`,
      e,
    );
  }
}

export const MANIFEST_FILE_FORMAT = 1;

/**
 * A manifest file: JSON naming the content, with the manifest's canonical
 * CBOR in hex. Written whole or not at all, and never over an existing file
 * (an earlier content's manifest is never lost): OutputFileError.
 */
export function saveManifest(io: CliIo, path: string, manifest: Manifest): string {
  const text = JSON.stringify(
    {
      qkmsManifest: MANIFEST_FILE_FORMAT,
      contentId: toHex(manifest.body.contentId),
      threshold: manifest.body.threshold,
      shares: manifest.body.shares,
      policy: manifest.body.policy.kind,
      cbor: toHex(encodeCanonical(manifestToCbor(manifest))),
    },
    null,
    2,
  );
  return writeNewOutput(io, path, `${text}\n`, { label: '--out', secret: false });
}

export function loadManifest(io: CliIo, path: string): Manifest {
  const json = readJson(io, path, 'manifest file') as {
    qkmsManifest?: unknown;
    cbor?: unknown;
  } | null;
  if (json?.qkmsManifest !== MANIFEST_FILE_FORMAT || typeof json.cbor !== 'string') {
    throw configError(`manifest file ${path}: expected {"qkmsManifest": 1, "cbor": "<hex>"}`);
  }
  try {
    return manifestFromCbor(decodeCanonical(fromHex(json.cbor), MAX_FRAME_BYTES.publish));
  } catch (e) {
    throw configError(`manifest file ${path}: the manifest does not decode`, e);
  }
}

/** A dev wallet key file: one line of 0x-prefixed hex, mode 0600. */
export function loadWallet(io: CliIo, path: string): WalletSigner {
  const key = parseHexLine(readKeyFile(io, path, 'wallet key'), `wallet key ${path}`, 32);
  try {
    return walletFromPrivateKey(`0x${toHex(key)}`);
  } finally {
    key.fill(0);
  }
}
