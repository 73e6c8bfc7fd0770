// `qkms admin nodeset`: the node-set commands of an admin (DESIGN.md, "The
// node-set document"); the admin key is ./admin-key.ts's.
//   nodeset sign   adds this admin's signature to a node-set file (admin-nodeset-sign.ts)
//   nodeset show   verifies a signed node set and prints it
// and the file helpers both share.
//
// The other files are public (documents and node sets), read through io.readFile.
// An error about one never quotes its content: an admin who passes the key file
// where a document goes must not see the key on the terminal (V8's JSON.parse
// errors quote the text they choke on).
import { statSync } from 'node:fs';
import {
  ErrorCode,
  isQkmsError,
  parseSignedNodeSetJson,
  requireNativeSuite,
  toHex,
  MAX_NODE_SET_JSON_CHARS,
  type NodeSet,
} from '../../protocol/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { configError, noPositionals, printJson, requiredPath, type CliIo } from '../io.ts';

export const ADMIN_NODESET_SHOW_FLAGS = {
  nodeset: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

export const ADMIN_NODESET_SHOW_USAGE = `Usage: qkms admin nodeset show --nodeset FILE [--json]

Verifies the signed node-set FILE as a node does (the document, every
signature, at least admins.threshold signers) and prints its id, epoch,
threshold t of n, the nodes (index, PeerId, multiaddrs), the admins and the
parameters. --json prints one JSON object instead: ok, file, nodeSetId, epoch,
threshold, nodes, admins, params.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'valid',
  [EXIT.config]: 'invalid or unreadable (the reason is printed)',
})}`;

export interface Signature {
  readonly admin: number;
  readonly signature: string;
}

export function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs `read`, reporting a node-set problem as CONFIG_INVALID prefixed with where it came from. */
export function fromFile<T>(origin: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_NODE_SET)) throw configError(`${origin}: ${e.message}`, e);
    throw e;
  }
}

/** A public file's text. `origin` ("--document FILE") starts every error. */
export function readTextFile(io: CliIo, origin: string, path: string): string {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    throw configError(`${origin}: cannot read (${fsReason(e)})`, e);
  }
  if (text.length > MAX_NODE_SET_JSON_CHARS) {
    throw configError(
      `${origin}: expected at most ${MAX_NODE_SET_JSON_CHARS} characters, got ${text.length}`,
    );
  }
  return text;
}

/** A public JSON file. Errors name the file and never quote it. */
export function readJsonFile(io: CliIo, origin: string, path: string): unknown {
  const text = readTextFile(io, origin, path);
  try {
    return JSON.parse(text);
  } catch {
    // No cause: the SyntaxError quotes the text, which may be a secret given by mistake.
    throw configError(`${origin}: not valid JSON`);
  }
}

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    if (fsReason(e) === 'ENOENT') return false;
    throw configError(`${path}: cannot check (${fsReason(e)})`, e);
  }
}

// ---------------------------------------------------------------------------
// nodeset show

function showJson(io: CliIo, path: string, set: NodeSet): void {
  printJson(io, {
    ok: true,
    file: path,
    nodeSetId: toHex(set.id),
    epoch: set.epoch,
    threshold: set.threshold,
    nodes: set.nodes.map((n) => ({
      index: n.index,
      peerId: n.peerId,
      multiaddrs: n.multiaddrs,
      kemPublicKey: toHex(n.kemPublicKey),
    })),
    admins: {
      threshold: set.admins.threshold,
      keys: set.admins.keys.map((k) => toHex(k)),
      signers: set.signers,
    },
    params: set.params,
  });
}

function showHuman(path: string, set: NodeSet): string {
  const { params } = set;
  return [
    `Node set ${path}: valid.`,
    '',
    `  Id          ${toHex(set.id)}`,
    `  Epoch       ${set.epoch}`,
    `  Threshold   ${set.threshold} of ${set.nodes.length} nodes`,
    `  Admins      ${set.admins.threshold} of ${set.admins.keys.length} must sign; signed by ${set.signers.map((a) => `admins.keys[${a}]`).join(', ')}`,
    `  SIWE        domain ${params.siweDomain}, chain id ${params.chainId}`,
    `  Limits      grant age ${params.maxGrantAgeMs} ms, clock skew ${params.maxClockSkewMs} ms, delegation lifetime ${params.maxDelegationLifetimeMs} ms`,
    '',
    'Nodes:',
    ...set.nodes.map(
      (n) => `  ${String(n.index).padStart(3)}  ${n.peerId}  ${n.multiaddrs.join(' ')}`,
    ),
    '',
  ].join('\n');
}

/** Runs `qkms admin nodeset show ARGS`. */
export function adminNodeSetShow(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseArgs(argv, ADMIN_NODESET_SHOW_FLAGS);
  if (flags.help) {
    io.stdout.write(`${ADMIN_NODESET_SHOW_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const path = requiredPath(io, flags.nodeset, '--nodeset');
  const origin = `--nodeset ${path}`;
  const text = readTextFile(io, origin, path);
  const suite = requireNativeSuite();
  // As a node reads it (daemon.ts): the JSON error names no content, only "expected JSON text".
  const set = fromFile(origin, () => parseSignedNodeSetJson(suite, text));
  if (flags.json) showJson(io, path, set);
  else io.stdout.write(showHuman(path, set));
  return EXIT.ok;
}
