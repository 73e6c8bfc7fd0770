// `qkms admin nodeset sign`: adds this admin's signature to a node-set file,
// and for a successor (decision 0016) the predecessor admins' signatures too.
// Every signature already in a file it keeps is verified first, and none is
// ever dropped silently. Errors never quote a file's content (admin-nodeset.ts).
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
  verifyNodeSetChain,
  verifyNodeSetSignature,
  wipe,
  type CryptoSuite,
  type NodeSet,
  type SignedNodeSetJson,
} from '../../protocol/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { replacePublicFile, sameFile } from '../files.ts';
import { abbreviate, configError, noPositionals, requiredPath, type CliIo } from '../io.ts';
import { readAdminKey } from './admin-key.ts';
import {
  exists,
  fromFile,
  isRecord,
  plural,
  readJsonFile,
  type Signature,
} from './admin-nodeset.ts';

export const ADMIN_NODESET_SIGN_FLAGS = {
  document: 'string',
  'admin-key': 'string',
  signed: 'string',
  predecessor: 'string',
  out: 'string',
  help: 'boolean',
} as const;

export const ADMIN_NODESET_SIGN_USAGE = `Usage: qkms admin nodeset sign --document FILE --admin-key FILE --out FILE [--signed FILE]
         [--predecessor NODESET]

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
  --predecessor NODESET
                    for a successor (a document with a "predecessor"): the
                    signed node-set file it follows, required (its id is the
                    document's "predecessor", its epoch the one before the
                    document's); refused for a first-epoch document. The key
                    signs as an admin of the document, of the predecessor (its
                    "predecessorSignatures"), or both, wherever it is listed;
                    the predecessor's signatures already in the file are
                    verified against its admins and kept.

Prints the node-set id, the signatures present against admins.threshold, and
whether the file is valid (ready for 'qkms node start --nodeset') or needs
more signatures.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'signed (valid, or not yet: more signatures needed)',
  [EXIT.config]:
    'a document, node-set or admin key file error (the message names the file and the field)',
})}`;

// ---------------------------------------------------------------------------
// nodeset sign

/**
 * The verified signatures of an existing node-set file, which must be of the
 * document with id `id`. `file.origin` is "--signed FILE" or "--out FILE".
 */
interface FileSignatures {
  readonly own: readonly Signature[];
  /** By the predecessor's admins: [] for a first-epoch document. */
  readonly predecessor: readonly Signature[];
}

function readSignatures(
  suite: CryptoSuite,
  io: CliIo,
  file: { readonly origin: string; readonly path: string },
  document: unknown,
  id: Uint8Array,
  predecessor: NodeSet | undefined,
): FileSignatures {
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
  const theirPredecessorSignatures = json['predecessorSignatures'];
  // serializeSignedNodeSet checks the shape (admin positions, lengths, each admin once) and sorts.
  const normalized = JSON.parse(
    fromFile(origin, () =>
      serializeSignedNodeSet(
        document,
        json.signatures as readonly Signature[],
        predecessor === undefined
          ? undefined
          : ((theirPredecessorSignatures ?? []) as readonly Signature[]),
      ),
    ),
  ) as SignedNodeSetJson;
  const check = (
    list: readonly Signature[],
    keys: readonly Uint8Array[],
    whose: string,
    field: string,
  ): void => {
    for (const { admin, signature } of list) {
      const key = keys[admin];
      if (key === undefined || !verifyNodeSetSignature(suite, id, key, fromHex(signature))) {
        throw configError(
          `${origin}: the ${field}signature of ${whose}admins.keys[${admin}] does not verify for this document; remove it, or have that admin sign again`,
        );
      }
    }
  };
  check(normalized.signatures, theirs.admins.keys, '', '');
  const predecessorSignatures = normalized.predecessorSignatures ?? [];
  if (predecessor !== undefined)
    check(predecessorSignatures, predecessor.admins.keys, "the predecessor's ", 'predecessor ');
  return { own: normalized.signatures, predecessor: predecessorSignatures };
}

/** The admins who signed, for the summary: "admins.keys[0], admins.keys[2]", or "none". */
function signers(list: readonly Signature[]): string {
  return list.length === 0 ? 'none' : list.map((s) => `admins.keys[${s.admin}]`).join(', ');
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
  const predecessor = readPredecessorFlag(suite, io, flags.predecessor, doc, documentPath);
  const existing: FileSignatures =
    signedPath === undefined
      ? { own: [], predecessor: [] }
      : readSignatures(
          suite,
          io,
          { origin: `--signed ${signedPath}`, path: signedPath },
          document,
          doc.id,
          predecessor,
        );

  const seed = readAdminKey(keyPath);
  let mine: Signature | undefined;
  let minePredecessor: Signature | undefined;
  try {
    const publicKey = suite.hybrid.getPublicKey(seed);
    const index = doc.admins.keys.findIndex((k) => suite.equalBytes(k, publicKey));
    const predecessorIndex =
      predecessor?.admins.keys.findIndex((k) => suite.equalBytes(k, publicKey)) ?? -1;
    if (index === -1 && predecessorIndex === -1) {
      throw configError(
        predecessor === undefined
          ? `--admin-key ${keyPath}: its public key ${abbreviate(toHex(publicKey))} is not in document.admins.keys of ${documentPath}; sign with the key of a listed admin, or add this one to the document`
          : `--admin-key ${keyPath}: its public key ${abbreviate(toHex(publicKey))} is an admin neither of ${documentPath} nor of its predecessor ${toHex(predecessor.id)}`,
      );
    }
    if (index !== -1) mine = signNodeSet(suite, document, { index, secretKey: seed });
    if (predecessor !== undefined && predecessorIndex !== -1)
      minePredecessor = signNodeSet(
        suite,
        document,
        { index: predecessorIndex, secretKey: seed },
        { predecessor },
      );
  } finally {
    wipe(seed);
  }
  const merge = (list: readonly Signature[], added: Signature | undefined): Signature[] =>
    added === undefined
      ? [...list]
      : [...list.filter((s) => s.admin !== added.admin), added].sort((a, b) => a.admin - b.admin);
  const replaced =
    (mine !== undefined && existing.own.some((s) => s.admin === mine.admin)) ||
    (minePredecessor !== undefined &&
      existing.predecessor.some((s) => s.admin === minePredecessor.admin));
  const signatures = merge(existing.own, mine);
  const predecessorSignatures = merge(existing.predecessor, minePredecessor);

  // An existing --out other than --signed: only a file of this node set whose
  // signatures all survive may be replaced.
  if (out !== signedPath && exists(out)) {
    const outOrigin = `--out ${out}`;
    let theirs: FileSignatures;
    try {
      theirs = readSignatures(
        suite,
        io,
        { origin: outOrigin, path: out },
        document,
        doc.id,
        predecessor,
      );
    } catch (e) {
      if (!isQkmsError(e, ErrorCode.CONFIG_INVALID)) throw e;
      throw configError(`${e.message}; refusing to overwrite it (choose another --out)`, e);
    }
    const dropped = [
      ...theirs.own
        .filter((t) => !signatures.some((s) => s.admin === t.admin))
        .map((t) => `admins.keys[${t.admin}]`),
      ...theirs.predecessor
        .filter((t) => !predecessorSignatures.some((s) => s.admin === t.admin))
        .map((t) => `the predecessor's admins.keys[${t.admin}]`),
    ];
    if (dropped.length > 0) {
      throw configError(
        `${outOrigin}: already holds signatures of ${dropped.join(', ')} that would be lost; pass it as --signed ${out} to keep them`,
      );
    }
  }

  const text = serializeSignedNodeSet(
    document,
    signatures,
    predecessor === undefined ? undefined : predecessorSignatures,
  );
  const needed = doc.admins.threshold;
  const predecessorNeeded = predecessor?.admins.threshold ?? 0;
  let valid = true;
  try {
    const json = JSON.parse(text) as unknown;
    if (predecessor === undefined) parseSignedNodeSetJson(suite, text);
    else verifyNodeSetChain(suite, predecessor, [json]);
  } catch (e) {
    // Every signature was verified above, so only too few of them can make it invalid.
    if (
      !isQkmsError(e, ErrorCode.INVALID_NODE_SET) ||
      (signatures.length >= needed && predecessorSignatures.length >= predecessorNeeded)
    )
      throw e;
    valid = false;
  }
  replacePublicFile(out, text, `--out ${out}`);

  const missing = (
    have: readonly Signature[],
    keys: readonly Uint8Array[],
    prefix: string,
  ): string =>
    keys
      .map((_, i) => i)
      .filter((i) => !have.some((s) => s.admin === i))
      .map((i) => `${prefix}admins.keys[${i}]`)
      .join(', ');
  const as = [
    ...(mine === undefined ? [] : [`admins.keys[${mine.admin}]`]),
    ...(minePredecessor === undefined
      ? []
      : [`the predecessor's admins.keys[${minePredecessor.admin}]`]),
  ].join(' and ');
  const stillNeeded = [
    ...(signatures.length < needed
      ? [
          `${plural(needed - signatures.length, 'more signature')}, from any of ${missing(signatures, doc.admins.keys, '')}`,
        ]
      : []),
    ...(predecessor !== undefined && predecessorSignatures.length < predecessorNeeded
      ? [
          `${plural(predecessorNeeded - predecessorSignatures.length, 'more predecessor signature')}, from any of ${missing(predecessorSignatures, predecessor.admins.keys, "the predecessor's ")}`,
        ]
      : []),
  ];
  io.stdout.write(
    [
      `Signed as ${as}${replaced ? ' (replacing its earlier signature)' : ''}; wrote ${out}.`,
      '',
      `  Node set    ${toHex(doc.id)}`,
      `  Epoch       ${doc.epoch}, threshold ${doc.threshold} of ${doc.nodes.length} nodes`,
      `  Signatures  ${signatures.length} of ${needed} needed (${signers(signatures)})`,
      ...(predecessor === undefined
        ? []
        : [
            `  Predecessor signatures  ${predecessorSignatures.length} of ${predecessorNeeded} needed (${signers(predecessorSignatures)}), by the admins of ${toHex(predecessor.id)}`,
          ]),
      '',
      valid
        ? predecessor === undefined
          ? `Valid: nodes can start with it (qkms node start --nodeset ${out}).`
          : `Valid: a successor of ${toHex(predecessor.id)}; hand it over with: qkms admin reshare --to ${out}`
        : [
            `Not valid yet: needs ${stillNeeded.join('; and ')}.`,
            `Each adds theirs with: qkms admin nodeset sign --signed ${out} …`,
          ].join('\n'),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * The signed predecessor --predecessor names: required exactly for a successor
 * document, and checked as verifyNodeSetChain will check the link (its id, and
 * the epoch after its) before anyone signs a file no chain accepts.
 */
function readPredecessorFlag(
  suite: CryptoSuite,
  io: CliIo,
  value: string | undefined,
  doc: { readonly epoch: number; readonly predecessor?: Uint8Array },
  documentPath: string,
): NodeSet | undefined {
  if (doc.predecessor === undefined) {
    if (value !== undefined)
      throw configError(
        `--predecessor: ${documentPath} is a first-epoch document; it follows no node set`,
      );
    return undefined;
  }
  if (value === undefined)
    throw configError(
      `--predecessor NODESET: required: ${documentPath} follows node set ${toHex(doc.predecessor)}, whose admins sign it too`,
    );
  const path = requiredPath(io, value, '--predecessor');
  const origin = `--predecessor ${path}`;
  const json = readJsonFile(io, origin, path);
  const set = fromFile(origin, () => parseSignedNodeSetJson(suite, JSON.stringify(json)));
  if (!suite.equalBytes(set.id, doc.predecessor))
    throw configError(
      `${origin}: is node set ${toHex(set.id)}, but ${documentPath} follows ${toHex(doc.predecessor)}`,
    );
  if (doc.epoch !== set.epoch + 1)
    throw configError(
      `${documentPath}: epoch: expected ${set.epoch + 1}, the epoch after its predecessor's (${origin}), got ${doc.epoch}; no chain accepts it`,
    );
  return set;
}
