// `qkms admin nodeset`: the node-set commands of an admin (DESIGN.md, "The
// node-set document"); the admin key is ./admin-key.ts's.
//   nodeset sign   adds this admin's signature to a node-set file
//   nodeset show   verifies a signed node set and prints it
//
// The other files are public (documents and node sets), read through io.readFile.
// An error about one never quotes its content: an admin who passes the key file
// where a document goes must not see the key on the terminal (V8's JSON.parse
// errors quote the text they choke on).
import { statSync } from 'node:fs';
import {
  ErrorCode,
  fromHex,
  isQkmsError,
  parseNodeSetDocument,
  parseSignedNodeSetJson,
  requireNativeSuite,
  serializeSignedNodeSet,
  signNodeSet,
  toHex,
  verifyNodeSetSignature,
  MAX_NODE_SET_JSON_CHARS,
  wipe,
  type CryptoSuite,
  type NodeSet,
  type SignedNodeSetJson,
} from '../../protocol/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { replacePublicFile, sameFile } from '../files.ts';
import {
  abbreviate,
  configError,
  noPositionals,
  printJson,
  requiredPath,
  type CliIo,
} from '../io.ts';
import { readAdminKey } from './admin-key.ts';

export const ADMIN_NODESET_SIGN_FLAGS = {
  document: 'string',
  'admin-key': 'string',
  signed: 'string',
  out: 'string',
  help: 'boolean',
} as const;

export const ADMIN_NODESET_SHOW_FLAGS = {
  nodeset: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

export const ADMIN_NODESET_SIGN_USAGE = `Usage: qkms admin nodeset sign --document FILE --admin-key FILE --out FILE [--signed FILE]

Signs a node set as one of its admins.

  --document FILE   the node-set document: the JSON object with qkmsNodeSet,
                    epoch, threshold, nodes, admins and params (what a signed
                    node-set file holds under "document"). It is validated, and
                    the admin key's public key must be one of its admins.keys.
  --admin-key FILE  this admin's key, made by 'qkms admin key new' (mode 0600).
  --signed FILE     a node-set file other admins have signed: it must be for
                    the same document (the same node-set id) and its
                    signatures must verify. They are kept; this admin's
                    signature is added (replacing its earlier one, if any).
  --out FILE        where the signed node-set file goes (normalized JSON). It
                    may be the --signed file; another existing file is replaced
                    only if it is a file of the same node set whose signatures
                    are all kept. Never the admin key.

Prints the node-set id, the signatures present against admins.threshold, and
whether the file is valid (ready for 'qkms node start --nodeset') or needs
more signatures.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'signed (valid, or not yet: more signatures needed)',
  [EXIT.config]:
    'a document, node-set or admin key file error (the message names the file and the field)',
})}`;

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

interface Signature {
  readonly admin: number;
  readonly signature: string;
}

function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs `read`, reporting a node-set problem as CONFIG_INVALID prefixed with where it came from. */
function fromFile<T>(origin: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_NODE_SET)) throw configError(`${origin}: ${e.message}`, e);
    throw e;
  }
}

/** A public file's text. `origin` ("--document FILE") starts every error. */
function readTextFile(io: CliIo, origin: string, path: string): string {
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
function readJsonFile(io: CliIo, origin: string, path: string): unknown {
  const text = readTextFile(io, origin, path);
  try {
    return JSON.parse(text);
  } catch {
    // No cause: the SyntaxError quotes the text, which may be a secret given by mistake.
    throw configError(`${origin}: not valid JSON`);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    if (fsReason(e) === 'ENOENT') return false;
    throw configError(`${path}: cannot check (${fsReason(e)})`, e);
  }
}

// ---------------------------------------------------------------------------
// nodeset sign

/**
 * The verified signatures of an existing node-set file, which must be of the
 * document with id `id`. `file.origin` is "--signed FILE" or "--out FILE".
 */
function readSignatures(
  suite: CryptoSuite,
  io: CliIo,
  file: { readonly origin: string; readonly path: string },
  document: unknown,
  id: Uint8Array,
): readonly Signature[] {
  const { origin } = file;
  const json = readJsonFile(io, origin, file.path);
  if (!isRecord(json) || !Object.hasOwn(json, 'document') || !Object.hasOwn(json, 'signatures')) {
    throw configError(`${origin}: expected a node-set file ({"document": …, "signatures": […]})`);
  }
  const theirs = fromFile(origin, () => parseNodeSetDocument(suite, json.document));
  if (!suite.equalBytes(theirs.id, id)) {
    throw configError(
      `${origin}: is node set ${toHex(theirs.id)}, but --document is ${toHex(id)}; they are different documents`,
    );
  }
  // serializeSignedNodeSet checks the shape (admin positions, lengths, each admin once) and sorts.
  const normalized = JSON.parse(
    fromFile(origin, () =>
      serializeSignedNodeSet(document, json.signatures as readonly Signature[]),
    ),
  ) as SignedNodeSetJson;
  for (const { admin, signature } of normalized.signatures) {
    const key = theirs.admins.keys[admin];
    if (key === undefined || !verifyNodeSetSignature(suite, id, key, fromHex(signature))) {
      throw configError(
        `${origin}: the signature of admins.keys[${admin}] does not verify for this document; remove it, or have that admin sign again`,
      );
    }
  }
  return normalized.signatures;
}

/** Runs `qkms admin nodeset sign ARGS`. */
export function adminNodeSetSign(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseArgs(argv, ADMIN_NODESET_SIGN_FLAGS);
  if (flags.help) {
    io.stdout.write(`${ADMIN_NODESET_SIGN_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const documentPath = requiredPath(io, flags.document, '--document');
  const keyPath = requiredPath(io, flags['admin-key'], '--admin-key');
  const out = requiredPath(io, flags.out, '--out');
  const signedPath =
    flags.signed === undefined ? undefined : requiredPath(io, flags.signed, '--signed');
  if (out === keyPath || sameFile(out, keyPath)) {
    throw configError(`--out ${out}: is the admin key file; refusing to overwrite it`);
  }
  const suite = requireNativeSuite();

  const documentOrigin = `--document ${documentPath}`;
  const document = readJsonFile(io, documentOrigin, documentPath);
  if (isRecord(document) && Object.hasOwn(document, 'document')) {
    throw configError(
      `${documentOrigin}: is a signed node-set file, not a document; give it as --signed FILE, and the document you reviewed as --document FILE`,
    );
  }
  const doc = fromFile(documentOrigin, () => parseNodeSetDocument(suite, document));
  const existing =
    signedPath === undefined
      ? []
      : readSignatures(
          suite,
          io,
          { origin: `--signed ${signedPath}`, path: signedPath },
          document,
          doc.id,
        );

  const seed = readAdminKey(keyPath);
  let mine: Signature;
  try {
    const publicKey = suite.hybrid.getPublicKey(seed);
    const index = doc.admins.keys.findIndex((k) => suite.equalBytes(k, publicKey));
    if (index === -1) {
      throw configError(
        `--admin-key ${keyPath}: its public key ${abbreviate(toHex(publicKey))} is not in document.admins.keys of ${documentPath}; sign with the key of a listed admin, or add this one to the document`,
      );
    }
    mine = signNodeSet(suite, document, { index, secretKey: seed });
  } finally {
    wipe(seed);
  }
  const replaced = existing.some((s) => s.admin === mine.admin);
  const signatures = [...existing.filter((s) => s.admin !== mine.admin), mine].sort(
    (a, b) => a.admin - b.admin,
  );

  // An existing --out other than --signed: only a file of this node set whose
  // signatures all survive may be replaced.
  if (out !== signedPath && exists(out)) {
    const outOrigin = `--out ${out}`;
    let theirs: readonly Signature[];
    try {
      theirs = readSignatures(suite, io, { origin: outOrigin, path: out }, document, doc.id);
    } catch (e) {
      if (!isQkmsError(e, ErrorCode.CONFIG_INVALID)) throw e;
      throw configError(`${e.message}; refusing to overwrite it (choose another --out)`, e);
    }
    const dropped = theirs
      .map((s) => s.admin)
      .filter((a) => !signatures.some((s) => s.admin === a));
    if (dropped.length > 0) {
      throw configError(
        `${outOrigin}: already holds signatures of ${dropped.map((a) => `admins.keys[${a}]`).join(', ')} that would be lost; pass it as --signed ${out} to keep them`,
      );
    }
  }

  const text = serializeSignedNodeSet(document, signatures);
  const needed = doc.admins.threshold;
  let valid = true;
  try {
    parseSignedNodeSetJson(suite, text);
  } catch (e) {
    // Every signature was verified above, so only too few of them can make it invalid.
    if (!isQkmsError(e, ErrorCode.INVALID_NODE_SET) || signatures.length >= needed) throw e;
    valid = false;
  }
  replacePublicFile(out, text, `--out ${out}`);

  const signers = signatures.map((s) => `admins.keys[${s.admin}]`).join(', ');
  const unsigned = doc.admins.keys
    .map((_, i) => i)
    .filter((i) => !signatures.some((s) => s.admin === i))
    .map((i) => `admins.keys[${i}]`)
    .join(', ');
  io.stdout.write(
    [
      `Signed as admins.keys[${mine.admin}]${replaced ? ' (replacing its earlier signature)' : ''}; wrote ${out}.`,
      '',
      `  Node set    ${toHex(doc.id)}`,
      `  Epoch       ${doc.epoch}, threshold ${doc.threshold} of ${doc.nodes.length} nodes`,
      `  Signatures  ${signatures.length} of ${needed} needed (${signers})`,
      '',
      valid
        ? `Valid: nodes can start with it (qkms node start --nodeset ${out}).`
        : [
            `Not valid yet: needs ${plural(needed - signatures.length, 'more signature')}, from any of ${unsigned}.`,
            `Each adds theirs with: qkms admin nodeset sign --signed ${out} …`,
          ].join('\n'),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
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
