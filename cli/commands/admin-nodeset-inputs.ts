// The --node, --admin and --predecessor values of `qkms admin nodeset new`
// (./admin-nodeset-new.ts): a node's entry for the node set's "nodes" array,
// as `qkms node init` prints it (cli/commands/node-init.ts), an admin's public
// key, as `qkms admin key new` prints it (./admin-key.ts), and the node set
// a new epoch follows. Each is given inline or as a file.
//
// An error names the flag, its position and its file, and never quotes the
// content: a node keystore or an admin key file passed by mistake must not
// reach the terminal (V8's JSON.parse errors quote the text they choke on).
// Only the types are checked here; the values are the document's to check
// (createNodeSetDocument).
import { resolve } from 'node:path';
import {
  ErrorCode,
  HYBRID_LENGTHS,
  MAX_NODE_SET_JSON_CHARS,
  fromHex,
  isQkmsError,
  parseNodeSetDocument,
  type CryptoSuite,
} from '../../protocol/internal.ts';
import { configError, type CliIo } from '../io.ts';

/** Where a --node or --admin came from: `label` starts its errors ("--node #2 FILE"); `path` if a file. */
export interface InputSource {
  readonly label: string;
  readonly path?: string;
}

export interface NodeEntryArg extends InputSource {
  /** undefined: none assigned yet (node init prints 0). */
  readonly index: number | undefined;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
  readonly kemPublicKey: Uint8Array;
}

export interface AdminKeyArg extends InputSource {
  readonly key: Uint8Array;
}

/**
 * Characters of a --node or --admin file: 'node init --json' prints about
 * 5 KB, an admin key's --json output about 4 KB; a file this large is neither.
 */
const MAX_INPUT_FILE_CHARS = 64 * 1024;
/** An all-hex --admin at least this long is a key, not a file name (NAME_MAX is 255). */
const INLINE_HEX_MIN_CHARS = 256;
const PUBLIC_KEY_HEX_CHARS = 2 * HYBRID_LENGTHS.publicKey;
/** What `qkms admin key new` writes: the secret seed, refused wherever a public key goes. */
const ADMIN_SECRET_LINE = new RegExp(`^0x[0-9a-f]{${2 * HYBRID_LENGTHS.seed}}$`);
const HEX = /^(?:0x)?[0-9a-fA-F]+$/;
const ENTRY_KEYS: readonly string[] = ['index', 'peerId', 'multiaddrs', 'kemPublicKey'];
const EXPECTED_ENTRY = `expected what 'qkms node init --json' printed, or its "nodeEntry" object (index, peerId, multiaddrs, kemPublicKey)`;
const EXPECTED_KEY = `expected an admin public key: the hex 'qkms admin key new' printed, or its --json output`;

function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A --node, --admin or --predecessor file's text. */
function readInput(
  io: CliIo,
  label: string,
  path: string,
  maxChars = MAX_INPUT_FILE_CHARS,
): string {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    throw configError(`${label}: cannot read (${fsReason(e)})`, e);
  }
  if (text.length > maxChars) {
    throw configError(`${label}: expected at most ${maxChars} characters, got ${text.length}`);
  }
  return text;
}

/** JSON.parse without its SyntaxError, which quotes the text. */
function parseJson(text: string, label: string, expected: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw configError(`${label}: not valid JSON (${expected})`);
  }
}

/** The `position`-th --node (from 1): inline JSON when it starts with "{", else a file. */
export function readNodeArg(io: CliIo, value: string, position: number): NodeEntryArg {
  const inline = value.trimStart().startsWith('{');
  const path = inline ? undefined : resolve(io.cwd, value);
  const label = `--node #${position} ${path ?? '(inline JSON)'}`;
  const text = path === undefined ? value : readInput(io, label, path);
  const json = parseJson(text, label, EXPECTED_ENTRY);
  if (isRecord(json) && Object.hasOwn(json, 'qkmsKeystore')) {
    throw configError(
      `${label}: is a node keystore, which holds the node's secrets; pass what 'qkms node init --json' printed instead`,
    );
  }
  const entry = isRecord(json) && Object.hasOwn(json, 'nodeEntry') ? json.nodeEntry : json;
  if (!isRecord(entry) || !Object.keys(entry).every((k) => ENTRY_KEYS.includes(k))) {
    throw configError(`${label}: ${EXPECTED_ENTRY}`);
  }
  const { index, peerId, multiaddrs, kemPublicKey } = entry;
  if (typeof peerId !== 'string') throw configError(`${label}: peerId: expected a string`);
  if (!Array.isArray(multiaddrs) || !multiaddrs.every((a) => typeof a === 'string')) {
    throw configError(`${label}: multiaddrs: expected an array of strings`);
  }
  if (typeof kemPublicKey !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(kemPublicKey)) {
    throw configError(`${label}: kemPublicKey: expected lower-case hex`);
  }
  if (index !== undefined && !(Number.isSafeInteger(index) && (index as number) >= 0)) {
    throw configError(`${label}: index: expected 1..n, or 0 for none yet`);
  }
  return {
    label,
    ...(path === undefined ? {} : { path }),
    index: index === 0 ? undefined : (index as number | undefined),
    peerId,
    multiaddrs,
    kemPublicKey: fromHex(kemPublicKey),
  };
}

/** The key in an admin public-key file: a hex line (bare, 0x or JSON-quoted) or `admin key new --json`. */
function publicKeyText(text: string, label: string): string {
  const trimmed = text.trim();
  if (ADMIN_SECRET_LINE.test(trimmed)) {
    throw configError(
      `${label}: is an admin key file, which holds the admin's secret; pass its public key (the hex 'qkms admin key new' printed, or its --json output)`,
    );
  }
  if (HEX.test(trimmed)) return trimmed;
  const json = parseJson(trimmed, label, EXPECTED_KEY);
  if (typeof json === 'string') return json;
  if (isRecord(json) && typeof json.publicKey === 'string') return json.publicKey;
  throw configError(`${label}: ${EXPECTED_KEY}`);
}

/** The `position`-th --admin (from 1): the public key in hex, or a file holding it. */
export function readAdminArg(io: CliIo, value: string, position: number): AdminKeyArg {
  const inline = value.length >= INLINE_HEX_MIN_CHARS && HEX.test(value);
  const path = inline ? undefined : resolve(io.cwd, value);
  const label = `--admin #${position}${path === undefined ? '' : ` ${path}`}`;
  const text = path === undefined ? value : publicKeyText(readInput(io, label, path), label);
  const hex = text.trim().replace(/^0x/, '');
  const expected = `expected an admin public key, ${HYBRID_LENGTHS.publicKey} bytes of lower-case hex`;
  if (!/^[0-9a-f]*$/.test(hex)) {
    throw configError(`${label}: ${expected}, got a character other than 0-9a-f`);
  }
  if (hex.length !== PUBLIC_KEY_HEX_CHARS) {
    throw configError(
      `${label}: ${expected} (${PUBLIC_KEY_HEX_CHARS} characters), got ${hex.length}`,
    );
  }
  return { label, ...(path === undefined ? {} : { path }), key: fromHex(hex) };
}

export interface PredecessorArg extends InputSource {
  readonly id: Uint8Array;
  /** Its epoch, when given as a file. */
  readonly epoch?: number;
}

/** The nodeSetId --predecessor gives: 64 hex characters, or a node-set file (signed, or its document). */
export function readPredecessorArg(io: CliIo, suite: CryptoSuite, value: string): PredecessorArg {
  if (/^[0-9a-f]{64}$/.test(value)) return { label: '--predecessor', id: fromHex(value) };
  const path = resolve(io.cwd, value);
  const label = `--predecessor ${path}`;
  const json = parseJson(
    readInput(io, label, path, MAX_NODE_SET_JSON_CHARS),
    label,
    'expected a node-set file, or the nodeSetId in hex',
  );
  const document = isRecord(json) && Object.hasOwn(json, 'document') ? json.document : json;
  try {
    const doc = parseNodeSetDocument(suite, document);
    return { label, path, id: doc.id, epoch: doc.epoch };
  } catch (e) {
    if (!isQkmsError(e, ErrorCode.INVALID_NODE_SET)) throw e;
    throw configError(`${label}: ${e.message}`, e);
  }
}
