// The files the client commands read and write: the quorum config made by
// `qkms quorum up` (or an operator), manifests, wallet keys, CEK files.
import { resolve } from 'node:path';
import {
  MAX_FRAME_BYTES,
  decodeCanonical,
  encodeCanonical,
  fromHex,
  manifestFromCbor,
  manifestToCbor,
  parseSignedNodeSetJson,
  toHex,
  type CryptoSuite,
  type Manifest,
  type NodeSet,
} from '../protocol/index.ts';
import { walletFromPrivateKey, type WalletSigner } from '../client/index.ts';
import { configError, parseHexLine, readSecretFile, writeNewFile, type CliIo } from './io.ts';

function readJson(io: CliIo, path: string, what: string): unknown {
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
  const json = readJson(io, path, 'quorum file');
  const signed =
    typeof json === 'object' && json !== null && 'qkmsQuorum' in json
      ? (json as { nodeSet?: unknown }).nodeSet
      : json;
  try {
    return parseSignedNodeSetJson(suite, JSON.stringify(signed));
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
  return writeNewFile(io, path, `${text}\n`, { mode: 0o644, label: '--out' });
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
  const key = parseHexLine(readSecretFile(io, path, 'wallet key'), `wallet key ${path}`, 32);
  try {
    return walletFromPrivateKey(`0x${toHex(key)}`);
  } finally {
    key.fill(0);
  }
}
